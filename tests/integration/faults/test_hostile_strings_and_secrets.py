"""Hostile strings and secrets, live. Strings the host controls (mount sources, labels, commands, the
daemon's --config-file path: escape sequences, control and bidi characters, XML specials, bytes
that are not UTF-8, 5,000-character values) stay inert in every format; the secrets containers
carry (environment, labels, log options, healthchecks, commands, exec sessions) never reach a
report or recorded facts.
"""
from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import jsonschema
import pytest

from consumers import check_tool_formats
from dockerd import Dockerd, docker_cli
from faults.common import Live, cli, start_with_busybox
from helpers import assert_inert_text, junit_schema, report_schema
from integration_env import IMAGE, shared_mount

pytestmark = pytest.mark.integration


# -- 7: hostile strings in what the host controls --------------------------------------------------------------------

HOSTILE_NAMES = [
    "esc\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m",
    "nl\nline2\rtab\t\x01\x7f\x9b[31m",
    "xml<&'\">\u202eevil\u2066",
    "bad\udcff\udcfe",   # bytes that are not UTF-8 (the docker CLI sends U+FFFD instead: JSON cannot carry them)
    "L" * 200 + "/" + "M" * 200 + "/" + "N" * 200,
]


@dataclass
class Hostile:
    daemon: Dockerd
    sources: list[Path]


@pytest.fixture(scope="module")
def hostile(integration_host: None) -> Iterator[Hostile]:
    with contextlib.ExitStack() as stack:
        daemon = Dockerd(name="x")
        # Unmounted after the daemon (and its containers) are gone: callbacks run last-in first-out.
        shared = shared_mount(stack, daemon.dir / "shared")
        # The daemon reads its configuration from a path with escape sequences, XML specials,
        # control characters and bytes that are not UTF-8; the auditor finds it in the daemon's argv.
        config_dir = daemon.dir / "conf\x1b]0;cfg\x07\x1b[31m<&'\">\x01\udcff"
        config_dir.mkdir()
        daemon.config_file = config_dir / "daemon.json"
        daemon.daemon_json = {"icc": False}
        start_with_busybox(stack, daemon)
        sources = []
        for name in HOSTILE_NAMES:
            source = shared / name
            os.makedirs(os.fsencode(source), exist_ok=True)
            sources.append(source)
        volumes = []
        for n, source in enumerate(sources):
            # rshared propagation puts each source in a 5.19 finding, where the report shows it.
            volumes += ["-v", f"{source}:/m{n}:rshared"]
        labels = ["--label", "k\x1b]0;label\x07<&>\x01\u202e=v\x1b[2J", "--label", "long" + "x" * 5000 + "=" + "y" * 5000]
        daemon_cli = [docker_cli(), "run", "-d", "--name", "hostile", *volumes, *labels,
                      "--mount", "type=bind,source=/usr,target=/x\x1b[2J\x1b]0;dst\x07<&>,readonly",
                      IMAGE, "sh", "-c", "sleep 100000 # \x1b]0;cmd\x07<&>\x01"]
        made = subprocess.run([os.fsencode(a) for a in daemon_cli], env=daemon.env(), capture_output=True)
        assert made.returncode == 0, made.stderr
        daemon.docker("create", "--name", "hostile-cmd", "--label", "\x1b[31m=x", IMAGE, "/bin/\x1b]0;cmd\x07<&'\">\x01")
        yield Hostile(daemon, sources)


def test_hostile_strings_stay_inert_in_every_format(hostile: Hostile, tmp_path: Path) -> None:
    host = hostile.daemon.host
    coloured = cli("--host", host, "--all", "--color", "always", "--wide", "--remediation")
    plain = cli("--host", host, "--all")
    for run, colour in ((coloured, True), (plain, False)):
        assert run.code == 1 and run.err == "", run.err
        assert_inert_text(run.text, colour)
    text = coloured.text
    assert "\\x1b]0;pwned\\x07" in text and "\\x9b[31m" in text and "\\u202eevil" in text   # shown, escaped
    assert "\\udcff" in text   # the config file's name, from the daemon's argv
    assert "\x1b[31mFAIL\x1b[0m" in text   # the tool's own colours are still there

    as_json = cli("--host", host, "--all", "-f", "json")
    report = as_json.json()
    jsonschema.validate(report, report_schema())
    results = {r["id"]: r for r in report["results"]}
    details = " ".join(i["detail"] for i in results["5.19"]["items"])   # JSON keeps the data as it is
    assert "esc\x1b]0;pwned\x07" in details and "xml<&'\">\u202eevil" in details and "N" * 200 in details
    assert results["2.1"]["status"] == "PASS" and "\\udcff/daemon.json" in results["2.1"]["details"]

    junit = cli("--host", host, "--all", "-f", "junit")
    junit_schema().validate(junit.text)
    root = ET.fromstring(junit.out)
    assert int(root.get("tests", "0")) == 83

    # SARIF, OCSF, Prometheus and HTML: parseable and inert (checked as in tests/test_faults.py).
    def run(argv: list[str]) -> tuple[int, str]:
        done = cli(*argv)
        return done.code, done.err

    tools = check_tool_formats(run, ["--host", host, "--all"])
    assert "\\x1b]0;pwned\\x07" in tools["html"] and "\x1b" not in tools["html"] + tools["prometheus"]

    # The recorded facts keep the data (JSON escapes it) and audit the same.
    facts = tmp_path / "facts.json"
    assert cli("record", "--host", host, "--all", "-o", str(facts)).code == 0
    replayed = cli("--facts", str(facts), "-f", "json")
    assert {r["id"]: r["status"] for r in replayed.json()["results"]} == {r["id"]: r["status"] for r in report["results"]}
    replayed_text = cli("--facts", str(facts), "--color", "always", "--wide")
    assert_inert_text(replayed_text.text, True)


# -- 11: secrets stay on the host ----------------------------------------------------------------------------------

def test_secrets_never_reach_reports_or_recorded_facts(live: Live, tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text("old")
    os.chmod(facts, 0o644)
    recorded = cli("record", "--host", live.host, "--all", "-o", str(facts), umask=0)
    assert recorded.code == 0, recorded.err
    assert stat.S_IMODE(facts.stat().st_mode) == 0o600   # even over a 0644 file, with umask 0
    outputs = {"facts": facts.read_bytes()}
    reports = {fmt: tmp_path / f"report.{fmt}" for fmt in ("json", "text", "junit", "sarif", "ocsf", "prometheus", "html")}
    run = cli("--host", live.host, "--all", "--details", "--remediation",
              *[arg for fmt, path in reports.items() for arg in ("-o", f"{fmt}:{path}")])
    assert run.code in (0, 1), run.err
    outputs.update({fmt: path.read_bytes() for fmt, path in reports.items()})
    outputs["replayed"] = cli("--facts", str(facts), "-f", "json").out
    for where, data in outputs.items():
        for what, secret in live.secrets.items():
            assert secret.encode() not in data, f"the {what} secret is in the {where}"
    # The names stay: a reviewer may need to know that DB_PASSWORD is set.
    recorded_facts = json.loads(outputs["facts"])
    inspect = next(c for c in recorded_facts["containers"]["items"] if c["name"] == "secret")["inspect"]
    env_names = [e.split("=", 1)[0] for e in inspect["Config"]["Env"]]
    assert {"DB_PASSWORD", "API_TOKEN"} <= set(env_names)
    assert inspect["Config"]["Labels"] == {"com.example.api-token": "<redacted>"}
    assert inspect["HostConfig"]["LogConfig"]["Config"] == {"tag": "<redacted>"}
    assert inspect["Config"]["Cmd"] == ["-c", "<redacted>"] and inspect["Args"] == ["<redacted>"]
    assert inspect["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "<redacted>"]
