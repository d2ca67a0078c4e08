"""Reports the format tests share: one with every status, one full of hostile strings, a busy host,
and an edition labelled Automated/Manual (two scores, a label per recommendation)."""
from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any, Optional

from bench.evaluate import build_report, evaluate
from bench.profile import Profile, parse_profile
from bench.results import Report
from bench.selection import select_recommendations
from bench.yamlfile import parse_yaml
from busy_host import busy_host
from helpers import REPO, apply_case, facts_of, hardened_data

# Escape sequences (a title change, a screen clear, colours), XML and HTML specials, quotes, a
# script element, control and bidi characters, a lone surrogate, SARIF's link syntax, a very long run.
HOSTILE = ("\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m\r\n<script>alert(1)</script><img src=x onerror=alert(2)>"
           "<x a='&'>\"\x00\x01\x0b\x7f\x9b\ud800\u202eevil\u2066 [link](https://evil.example/) {{7*7}} "
           "a\\\"b} x=\"1\"\n# TYPE evil gauge\n")
LONG = "A" * 5000


def report_for(data: dict[str, Any], profile: Profile, checks: Any, only: tuple[str, ...] = ()) -> Report:
    facts = facts_of(data)
    results = evaluate(select_recommendations(profile, list(only)), checks.checks, facts)
    return build_report(profile, results, facts, "2026-11-27T03:00:00+00:00", checks=checks.checks)


@functools.lru_cache(maxsize=None)
def assessment_profile_text() -> str:
    """The shipped 1.11.0 profile relabelled as the later editions label theirs (Automated/Manual):
    a profile of `labels: assessment`, for the second score and the labels in every format."""
    text = (REPO / "profiles" / "cis-docker-1.11.0.yaml").read_text()
    text = re.sub(r"^labels: scored.*$", "labels: assessment", text, flags=re.M)
    text = re.sub(r"^id: cis-docker-1\.11\.0$", "id: cis-docker-relabelled", text, flags=re.M)
    text = text.replace("\n    scored: true\n", "\n    assessment: automated\n")
    return text.replace("\n    scored: false\n", "\n    assessment: manual\n")


def assessment_profile() -> Profile:
    return parse_profile(parse_yaml(assessment_profile_text(), "relabelled.yaml"), "relabelled.yaml")


def write_assessment_profile(folder: Path) -> str:
    path = folder / "relabelled.yaml"
    path.write_text(assessment_profile_text())
    return str(path)


def mixed_data() -> dict[str, Any]:
    """FAIL, WARN, ERROR, SKIP, INFO and PASS, per container and for the host; and a daemon.json
    edited since the daemon started, which the report's daemon findings name."""
    data = apply_case(hardened_data(), {
        "daemon_json": {"icc": "__delete__", "default-ulimits": "__delete__"},
        "container": {"name": "web", "inspect": {"HostConfig": {"Privileged": True, "NetworkMode": "host"}}},
        "facts": {"audit": {"error": "auditctl: permission denied", "rules": []}},
    })
    return apply_case(data, {"daemon_json": {"userns-remap": "__delete__"}, "running": "as_before"})


def hostile_data() -> dict[str, Any]:
    data = apply_case(mixed_data(), {"container": {"name": "web", "inspect": {
        "Mounts": [{"Type": "bind", "Source": "/etc/" + HOSTILE + LONG, "Destination": "/x", "RW": True,
                    "Propagation": "rprivate"}],
        "Config": {"Labels": {HOSTILE: HOSTILE}}}}})
    web = next(c for c in data["containers"]["items"] if c["name"] == "web")
    web["name"] = "web" + HOSTILE
    data["host"]["hostname"] = "host" + HOSTILE
    data["images"]["items"][0]["RepoTags"] = [f"evil.example/{HOSTILE}:{HOSTILE}"]
    # A registry certificate with a hostile name, and 0644 so that 3.8 names it.
    files = data["files"]
    cert = "/etc/docker/certs.d/" + HOSTILE.replace("/", "_") + "/ca.crt"
    files["locations"]["registry-certs"] = [cert]
    files["files"][cert] = dict(copy.deepcopy(next(iter(files["files"].values()))), path=cert, mode=0o644)
    return data


def busy_data() -> dict[str, Any]:
    return busy_host(100)


CASES = {"mixed": mixed_data, "hostile": hostile_data, "busy": busy_data}


def audited_hosts(folder: Path, cases: dict[str, dict[str, Any]], profile: Optional[str] = None) -> list[str]:
    """Each host's facts audited through the CLI into a JSON report (for merge); their paths."""
    from bench.cli import main

    reports = []
    for host, data in cases.items():
        data["host"]["hostname"] = host
        facts = folder / f"{host}.facts"
        facts.write_text(json.dumps(data))
        reports.append(str(folder / f"{host}.json"))
        main(["--facts", str(facts), "-f", "json", "-o", reports[-1], *(["--profile", profile] if profile else [])])
    return reports
