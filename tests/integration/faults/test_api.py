"""The Engine API out of reach or misbehaving, live: a user the API socket refuses, a daemon that is
not running, a daemon that hangs (SIGSTOP), containers that go away between listing and
inspection. API checks are ERROR with the reason, the rest is still judged, the audit finishes.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator, Optional

import jsonschema
import pytest

from dockerd import Dockerd, Unavailable
from faults.common import API_IDS, CONFIG_IDS, Live, assert_one_clean_stderr_line, cli
from helpers import REPO, report_schema
from integration_env import IMAGE, NOBODY, start_daemon, unavailable

pytestmark = pytest.mark.integration


# -- 1: as a user who may not use the API socket -----------------------------------------------------------

def _module_root(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin, name
    origin = Path(spec.origin)
    return origin.parent.parent if spec.submodule_search_locations else origin.parent


def _as_nobody(argv: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return subprocess.run(drop + argv, env=env, cwd="/", capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def nobody_python(integration_host: None) -> Iterator[tuple[str, dict[str, str]]]:
    """An interpreter and environment with which uid 65534 can run this auditor.

    The test interpreter itself, when nobody can execute it and read the package; else a system
    python3 of the same version (the compiled psutil and PyYAML must fit it) with the package and
    its dependencies on PYTHONPATH, from where they are or, when nobody cannot read them (a venv
    under /root), from copies in a temporary directory."""
    if not shutil.which("setpriv"):
        unavailable("setpriv (util-linux) is not installed")
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "HOME": "/nonexistent",
            "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"}
    probe = ["-c", "import bench.cli, psutil, yaml, tabulate"]
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    modules = ("bench", "psutil", "yaml", "tabulate")
    tried = []
    copies: Optional[str] = None
    try:
        interpreters = [sys.executable] + [p for p in dict.fromkeys([f"/usr/bin/python{version}", "/usr/bin/python3",
                                                             shutil.which(f"python{version}") or ""]) if p]
        for python in interpreters:
            for env in ({}, {"PYTHONPATH": os.pathsep.join(sorted({str(_module_root(m)) for m in modules}))}, None):
                if env is None:   # copies nobody can read
                    if copies is None:
                        copies = tempfile.mkdtemp(prefix="dcb-nobody-")
                        _copy_modules(Path(copies), modules)
                    env = {"PYTHONPATH": copies}
                check = _as_nobody([python, "-c", f"import sys; assert sys.version_info[:2] == {sys.version_info[:2]}"],
                                   {**base, **env})
                if check.returncode == 0 and _as_nobody([python, *probe], {**base, **env}).returncode == 0:
                    yield python, {**base, **env}
                    return
                tried.append(f"{python} with {env or 'its own path'}: {check.stderr.decode(errors='replace')[-120:]}")
        unavailable("no Python interpreter that uid 65534 can run finds this auditor: " + "; ".join(tried))
    finally:
        if copies:
            shutil.rmtree(copies, ignore_errors=True)


def _copy_modules(target: Path, modules: tuple[str, ...]) -> None:
    os.chmod(target, 0o755)
    ignore = shutil.ignore_patterns("__pycache__")
    for name in modules:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin
        origin = Path(spec.origin)
        if spec.submodule_search_locations:
            shutil.copytree(origin.parent, target / name, ignore=ignore)
        else:
            shutil.copy2(origin, target / origin.name)
    if not (target / "bench" / "_data").is_dir():   # a source checkout: the data sits beside the package
        for data in ("checks", "profiles"):
            shutil.copytree(REPO / data, target / data, ignore=ignore)
    for root, dirs, files in os.walk(target):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)


def test_as_a_user_without_api_access_api_checks_error_and_host_checks_run(live: Live, nobody_python) -> None:
    python, env = nobody_python
    # The precondition, as nobody sees it: the socket is there and refuses them.
    denied = _as_nobody([python, "-c", f"import socket; socket.socket(socket.AF_UNIX).connect({str(live.daemon.socket)!r})"],
                        env)
    assert denied.returncode != 0 and b"PermissionError" in denied.stderr

    run = cli("--host", live.host, "-f", "json", prefix=("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                                                           "--clear-groups"), python=python, env=env, cwd="/")
    assert run.code == 1, run.err
    assert_one_clean_stderr_line(run, "cannot reach the Docker daemon", "permission denied")
    results = run.results()
    for rec_id in API_IDS:
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
        assert "permission denied" in results[rec_id]["details"], results[rec_id]
    # Host checks are still judged.
    assert results["1.2"]["status"] == "PASS"
    assert results["4.5"]["status"] == "FAIL"   # DOCKER_CONTENT_TRUST is not set for this audit
    for rec_id in ("3.1", "3.2", "3.3", "3.4", "3.19", "3.20"):
        assert results[rec_id]["status"] != "ERROR", results[rec_id]
    # The daemon's daemon.json is in a directory nobody may not enter: what depends on it is ERROR,
    # naming the file, never PASS.
    config = str(live.daemon.config_file)
    for rec_id in CONFIG_IDS:
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
        assert f"{config}: permission denied" in results[rec_id]["details"], results[rec_id]
    for rec_id in ("3.17", "3.18"):   # owner and mode of that daemon.json: cannot even be stat'ed
        assert results[rec_id]["status"] == "ERROR" and "permission denied" in results[rec_id]["details"], results[rec_id]
    for rec_id in ("3.15", "3.16"):   # where the socket is depends on that daemon.json
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
    # Whatever could not be read is never a PASS (nor a SKIP: "not applicable" would be a guess too).
    for result in results.values():
        if "permission denied" in json.dumps(result).lower():
            assert result["status"] not in ("PASS", "SKIP"), result


def test_a_daemon_that_is_not_running(integration_host: None) -> None:
    """A daemon that was started and stopped: its socket is gone and no process serves it."""
    with contextlib.ExitStack() as stack:
        daemon = Dockerd(name="g")
        try:
            start_daemon(stack, daemon)
        except Unavailable as exc:
            unavailable(str(exc))
        host = daemon.host
        daemon.stop()
    assert not daemon.socket.exists()
    run = cli("--host", host, "-f", "json")
    assert run.code == 1
    assert_one_clean_stderr_line(run, "cannot reach the Docker daemon", "does not exist")
    results = run.results()
    for rec_id in API_IDS:
        assert results[rec_id]["status"] == "ERROR" and "does not exist" in results[rec_id]["details"], results[rec_id]
    for rec_id in CONFIG_IDS:
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
        assert f"no running Docker daemon listens on {daemon.socket}" in results[rec_id]["details"], results[rec_id]
    assert results["1.1"]["status"] == "ERROR"   # where the data root is cannot be known
    assert results["1.2"]["status"] == "PASS"
    for rec_id in ("3.1", "3.2", "3.19", "3.20"):
        assert results[rec_id]["status"] != "ERROR", results[rec_id]
    assert not any(r["status"] == "PASS" for r in results.values() if r["id"] in API_IDS + CONFIG_IDS)


# -- 4: a hung API -------------------------------------------------------------------------------------------

def test_a_hung_daemon_times_out_per_call_and_the_audit_finishes(live: Live) -> None:
    """dockerd stopped with SIGSTOP: the kernel still accepts connections on its socket, nobody
    answers. Each API call gives up after --timeout; the audit finishes."""
    pid = live.daemon.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        run = cli("--host", live.host, "-f", "json", "--timeout", "1", "--all", timeout=60)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert run.seconds < 20, run.seconds
    assert run.code == 1
    assert_one_clean_stderr_line(run, "did not answer in time")
    results = run.results()
    for rec_id in API_IDS:
        assert results[rec_id]["status"] == "ERROR" and "did not answer in time" in results[rec_id]["details"]
    assert results["2.1"]["status"] == "PASS"   # the daemon's configuration is read from the host
    assert results["1.2"]["status"] == "PASS"
    live.daemon.docker("version")   # and it answers again


# -- 3: containers that go away between listing and inspection --------------------------------------------------

def test_a_container_removed_or_stopped_between_listing_and_inspection_is_left_out(live: Live, monkeypatch) -> None:
    from bench.cli import main
    from bench.engine_api.unix import UnixSocketClient

    daemon = live.daemon
    daemon.docker("run", "-d", "--name", "vanishing", IMAGE, "sleep", "100000")
    daemon.docker("run", "-d", "--name", "stopping", IMAGE, "sleep", "100000")
    listed = UnixSocketClient.containers
    calls = []

    def list_then_change(self, *args, **kwargs):
        # Right after the list call returns, before any inspect: one removed, one stopped.
        summaries = listed(self, *args, **kwargs)
        calls.append([s["Names"][0] for s in summaries])
        daemon.docker("rm", "-f", "vanishing")
        daemon.docker("kill", "stopping")
        daemon.docker("wait", "stopping")
        return summaries

    monkeypatch.setattr(UnixSocketClient, "containers", list_then_change)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--host", live.host, "-f", "json"])
    finally:
        daemon.docker("rm", "-f", "vanishing", "stopping", check=False)
    assert code in (0, 1) and err.getvalue() == ""
    assert len(calls) == 1 and {"/vanishing", "/stopping"} <= set(calls[0])
    report = json.loads(out.getvalue())
    assert "container vanishing was removed between listing and inspection; left out" in report["notes"]
    assert "container stopping stopped between listing and inspection; left out" in report["notes"]
    judged = {i["resource"] for r in report["results"] for i in r["items"]}
    assert {"plain", "secret"} <= judged and not {"vanishing", "stopping"} & judged
    by_id = {r["id"]: r for r in report["results"]}
    assert {i["resource"] for i in by_id["5.4"]["items"]} == {"plain", "secret"}
    assert by_id["5.4"]["status"] == "PASS"
    jsonschema.validate(report, report_schema())
