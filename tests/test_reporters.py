"""Reporters: JSON against its schema, JUnit against Jenkins' XSD, text safe for a terminal."""
import json
import re
import xml.etree.ElementTree as ET

import jsonschema

from bench.evaluate import build_report, evaluate
from bench.selection import select_recommendations
from bench.reporters.json_report import render_json
from bench.reporters.junit import render_junit
from bench.reporters.text import render_text
from helpers import JUNIT_XSD, apply_case, facts_of, hardened_data, junit_schema, report_schema, shared_data

HOSTILE = "\x1b]0;pwned\x07\x1b[31mred\x1b[0m <x a='&'>\x00\x0b\ud800 \u202eevil\u202c " + "A" * 5000


def report_for(data, profile, checks):
    facts = facts_of(data)
    results = evaluate(select_recommendations(profile), checks.checks, facts)
    return build_report(profile, results, facts, "2026-11-27T00:00:00+00:00")


def test_json_report_matches_its_schema_and_contract(mixed_report):
    data = json.loads(render_json(mixed_report))
    jsonschema.validate(data, report_schema())
    assert data["schema_version"] == 1
    assert data["tool"]["name"] == "docker-cis-bench"
    assert data["profile"] == {"id": "cis-docker-1.11.0", "title": "CIS Docker 1.11.0 Benchmark v1.0.0",
                               "edition": "1.11.0", "labels": "scored"}
    assert data["host"] == {"hostname": "hardened", "docker_version": "28.5.1"}
    by_id = {r["id"]: r for r in data["results"]}
    assert len(by_id) == 83
    assert by_id["5.4"]["status"] == "FAIL" and by_id["5.4"]["checks"] == ["container-not-privileged"]
    assert {"resource": "web", "status": "FAIL", "detail": "HostConfig.Privileged=true, expected = false"} in by_id["5.4"]["items"]
    assert by_id["2.1"]["status"] == "FAIL" and by_id["2.7"]["status"] == "WARN"  # 2.7 is not scored
    assert by_id["1.7"]["status"] == "ERROR" and "permission denied" in by_id["1.7"]["details"]
    assert sum(data["summary"].values()) == 83
    assert data["summary"]["FAIL"] == sum(1 for r in data["results"] if r["status"] == "FAIL")


def test_the_repositorys_junit_xsd_is_the_reference_copy():
    """The JUnit reports are validated against tests/fixtures/junit-10.xsd: it must be the schema
    Jenkins' xUnit plugin uses, as kept in ../shared/junit."""
    assert JUNIT_XSD.read_bytes() == shared_data("junit/junit-10.xsd").read_bytes()


def test_junit_validates_and_maps_statuses(mixed_report):
    xml = render_junit(mixed_report)
    junit_schema().validate(xml)
    root = ET.fromstring(xml)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites][:2] == ["1 Host Configuration", "2 Docker daemon configuration"]
    cases = {c.get("name").split(" ")[0]: c for c in root.iter("testcase")}
    assert len(cases) == 83
    assert cases["5.4"].find("failure") is not None
    assert "web" in cases["5.4"].find("failure").text and "Remediation" in cases["5.4"].find("failure").text
    assert cases["1.7"].find("error") is not None
    assert cases["1.3"].find("skipped") is not None          # INFO
    assert cases["1.14"].find("error") is not None           # audit rules unknown: ERROR, not SKIP
    assert cases["5.2"].find("skipped") is not None          # SKIP (no SELinux)
    assert cases["2.7"].find("failure") is None and "WARN" in cases["2.7"].find("system-out").text
    for suite in suites:
        cases_in = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases_in)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases_in)
        assert int(suite.get("errors")) == sum(c.find("error") is not None for c in cases_in)
        assert int(suite.get("skipped")) == sum(c.find("skipped") is not None for c in cases_in)
    assert int(root.get("tests")) == 83


def test_junit_warn_fails_when_asked(mixed_report):
    root = ET.fromstring(render_junit(mixed_report, warn_fails=True))
    case = next(c for c in root.iter("testcase") if c.get("name").startswith("2.7 "))
    assert case.find("failure") is not None


def test_text_report_groups_sections_and_lists_offenders(mixed_report):
    text = render_text(mixed_report, colour=False, remediation=True)
    assert "[5] Container Runtime" in text
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("5.4 "))
    assert "FAIL" in lines[start] and "1 of 2 containers" in " ".join(lines[start:start + 2])
    assert lines[start + 2].split()[:2] == ["FAIL", "web:"]   # the offender, under its recommendation
    assert "remediation:" in text
    assert "\x1b" not in text
    assert re.search(r"Totals: PASS \d+  FAIL \d+  WARN \d+  INFO \d+  SKIP \d+  ERROR \d+", text)
    assert "Score: " in text


def test_colour_only_when_asked(mixed_report):
    assert "\x1b[31mFAIL\x1b[0m" in render_text(mixed_report, colour=True)


def hostile_report(profile, checks):
    data = apply_case(hardened_data(), {"container": {"name": "web", "inspect": {"Mounts": [
        {"Type": "bind", "Source": "/etc/" + HOSTILE, "Destination": "/x", "RW": True, "Propagation": "rprivate"}]}}})
    data["containers"]["items"][1]["name"] = "web" + HOSTILE[:40]
    data["host"]["hostname"] = HOSTILE[:60]
    return report_for(data, profile, checks)


def test_hostile_strings_stay_inert_in_every_format(profile, checks):
    report = hostile_report(profile, checks)
    text = render_text(report, colour=False, wide=True)
    assert "\x1b" not in text and "\x07" not in text and "\x00" not in text and "\u202e" not in text
    assert "\\x1b]0;pwned" in text  # shown, escaped
    coloured = render_text(report, colour=True, wide=True)
    assert set(re.findall(r"\x1b\[[0-9;]*m", coloured)) <= {"\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[35m",
                                                              "\x1b[36m", "\x1b[90m", "\x1b[0m"}
    assert "\x1b]" not in coloured
    xml = render_junit(report)
    junit_schema().validate(xml)
    ET.fromstring(xml.encode("utf-8"))
    body = render_json(report)
    body.encode("utf-8")  # no lone surrogates
    data = json.loads(body)
    jsonschema.validate(data, report_schema())
    item = next(i for i in next(r for r in data["results"] if r["id"] == "5.5")["items"] if i["status"] == "FAIL")
    assert "\x1b]0;pwned" in item["detail"]  # JSON keeps the data; its encoding makes it safe


def test_quiet_is_one_line(mixed_report):
    text = render_text(mixed_report, quiet=True)
    assert text.count("\n") == 1 and "FAIL" in text and "score" in text
