"""The README's cron line and CI job, run exactly as written against a throwaway daemon, over
consecutive runs as they are meant to repeat. (The container and Swarm recipes are run in
test_image.py, the Ansible one in test_ansible.py.)"""
from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
import yaml
from junitparser import Failure, JUnitXml

from dockerd import Dockerd, Unavailable
from integration_env import IMAGE, require_environment, start_daemon, unavailable
from recipes import copy_repository, environ, recipe, run_sh

pytestmark = pytest.mark.integration

VENV_BIN = str(Path(sys.executable).parent)


@pytest.fixture(scope="module")
def daemon() -> Iterator[Dockerd]:
    try:
        require_environment()
    except Unavailable as exc:
        unavailable(str(exc))
    with contextlib.ExitStack() as stack:
        made = Dockerd(name="rcp")
        try:
            start_daemon(stack, made)
        except Unavailable as exc:
            unavailable(str(exc))
        made.import_busybox(IMAGE)
        made.docker("run", "-d", "--name", "plain", "--network", "none", IMAGE, "sleep", "100000")
        yield made


# -- cron ---------------------------------------------------------------------------------------

class Crontab:
    """The README's crontab: its variable lines, and the command of its one job."""

    def __init__(self) -> None:
        self.variables: dict[str, str] = {}
        self.command = ""
        for line in recipe("cron").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            assignment = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
            if assignment:
                self.variables[assignment.group(1)] = assignment.group(2)
            else:
                fields = line.split(None, 5)
                assert len(fields) == 6 and not self.command, f"not one cron job: {line!r}"
                self.command = fields[5]

    def night(self, reports: Path, daemon: Dockerd) -> subprocess.CompletedProcess:
        """One run as cron runs a job: /bin/sh -c in the home directory, cron's small environment
        plus the crontab's variables, the documented ones pointed at this test's install, reports
        and daemon."""
        assert set(self.variables) == {"PATH", "REPORTS"}, self.variables
        env = {"HOME": str(reports.parent), "LOGNAME": "root", "SHELL": "/bin/sh", **self.variables,
               "PATH": f"{VENV_BIN}:/usr/bin:/bin", "REPORTS": str(reports), "DOCKER_HOST": daemon.host}
        return subprocess.run(["/bin/sh", "-c", self.command], cwd=reports.parent, env=env, capture_output=True,
                              text=True, timeout=300, stdin=subprocess.DEVNULL)


def _report(path: Path) -> dict:
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1 and len(data["results"]) == 83
    return data


def _mailed(night: subprocess.CompletedProcess) -> list[str]:
    """What cron would mail: everything the job printed."""
    return (night.stdout + night.stderr).splitlines()


def test_the_cron_line_runs_as_cron_runs_it_night_after_night(daemon: Dockerd, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    crontab = Crontab()

    # Night 1: no yesterday.json yet. The first run: one line mailed, saying so; the report kept.
    first = crontab.night(reports, daemon)
    assert first.returncode == 0 and len(_mailed(first)) == 1, _mailed(first)   # (the job's status is mv's)
    assert "first run, no baseline yesterday.json yet" in first.stdout and " new" in first.stdout
    assert sorted(p.name for p in reports.iterdir()) == ["yesterday.json"]
    baseline = _report(reports / "yesterday.json")
    assert baseline["baseline"]["first_run"] is True and baseline["baseline"]["unchanged"] == 0
    assert all(i.get("change") == "new" for r in baseline["results"] for i in r.get("items") or []
               if i["status"] in ("FAIL", "WARN", "ERROR"))

    # Night 2: nothing changed: nothing mailed, the baseline moves on.
    quiet = crontab.night(reports, daemon)
    assert (quiet.returncode, _mailed(quiet)) == (0, [])
    second = _report(reports / "yesterday.json")
    assert second["started_at"] >= baseline["started_at"] and "first_run" not in second["baseline"]   # a new report
    assert second["baseline"]["new"] == 0 and second["baseline"]["unchanged"] == baseline["baseline"]["new"]

    # Night 3: a container on the host's network: one line mailed.
    daemon.docker("run", "-d", "--name", "net-host", "--network", "host", IMAGE, "sleep", "100000")
    try:
        alert = crontab.night(reports, daemon)
        assert alert.returncode == 0 and alert.stderr == "", alert.stderr
        assert len(alert.stdout.splitlines()) == 1, alert.stdout
        third = _report(reports / "yesterday.json")
        new = {(r["id"], i["resource"]) for r in third["results"] for i in r.get("items") or [] if i.get("change") == "new"}
        assert ("5.9", "net-host") in new and {resource for _, resource in new} == {"net-host"}, new
        assert f"; {third['baseline']['new']} new, 0 fixed since yesterday.json" in alert.stdout
        # Night 4: it is known now: nothing mailed.
        again = crontab.night(reports, daemon)
        assert (again.returncode, _mailed(again)) == (0, [])
    finally:
        daemon.docker("rm", "-f", "net-host", check=False)
    assert sorted(p.name for p in reports.iterdir()) == ["yesterday.json"]


# -- CI -----------------------------------------------------------------------------------------

def test_the_ci_job_runs_as_written_twice_with_stable_junit(daemon: Dockerd) -> None:
    job = yaml.safe_load(recipe("ci"))["cis-docker"]
    report_name = job["artifacts"]["reports"]["junit"]
    with tempfile.TemporaryDirectory(prefix="dcb-ci-") as tmp:
        checkout = copy_repository(Path(tmp) / "checkout")
        env = environ(DOCKER_HOST=daemon.host)
        names = []
        for pipeline in (1, 2):
            for line in job["script"]:
                result = run_sh(line, checkout, env, timeout=600)
                # plain breaks scored recommendations: the job fails, and the report is kept (when: always)
                assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
            xml = JUnitXml.fromfile(str(checkout / report_name))
            cases = [(suite.name, case.classname, case.name) for suite in xml for case in suite]
            failures = [case.name for suite in xml for case in suite if any(isinstance(r, Failure) for r in case.result)]
            assert len(cases) == 83 and any(name.startswith("4.1 ") for name in failures)
            names.append(cases)
        assert names[0] == names[1]
