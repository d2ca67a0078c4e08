"""SARIF 2.1.0 for GitHub code scanning, validated by Microsoft's SARIF Multitool with its SARIF and
GitHub rules (`validate --rule-kind "Gh;Sarif"`): no errors, on a host with every status, a host of
hostile strings and a host with 100 containers."""
from __future__ import annotations

import json
import re

import pytest

from bench.reporters.sarif import FINGERPRINT, artifact_uri, render_sarif
from bench.reporters.verdicts import verdicts
from bench.results import Item, RecommendationResult
from bench.status import Status
from consumers import artifact, sarif_errors, sarif_validate
from report_cases import assessment_profile, busy_data, hostile_data, mixed_data, report_for


@pytest.fixture(scope="module")
def mixed(profile, checks):
    return report_for(mixed_data(), profile, checks)


def run_of(report):
    return json.loads(render_sarif(report))["runs"][0]


def test_one_rule_per_recommendation_with_help_and_remediation(mixed):
    run = run_of(mixed)
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.id for r in mixed.results]
    rule = next(r for r in rules if r["id"] == "5.4")
    assert rule["shortDescription"]["text"] == "Run no privileged containers"
    assert "Remove --privileged" in rule["help"]["text"] and "**Remediation:**" in rule["help"]["markdown"]
    assert rule["properties"]["security-severity"] == "5.5" and "security" in rule["properties"]["tags"]
    assert rule["properties"]["precision"] == "very-high"
    assert next(r for r in rules if r["id"] == "2.8")["properties"]["security-severity"] == "7.5"  # level 2
    assert next(r for r in rules if r["id"] == "2.7")["defaultConfiguration"]["level"] == "warning"  # not scored


def test_a_result_per_finding_with_its_level(mixed):
    run = run_of(mixed)
    results = run["results"]
    by = {(r["ruleId"], r["properties"]["resource"]): r for r in results}
    assert by[("5.4", "web")]["level"] == "error" and ("5.4", "db") not in by        # per container; PASS left out
    assert by[("2.1", "")]["level"] == "error"                                        # the daemon as a whole
    assert by[("2.7", "")]["level"] == "warning"                                      # WARN
    assert by[("1.7", "")]["level"] == "note"                                         # ERROR: a level of its own
    assert by[("1.7", "")]["message"]["text"].startswith("could not be judged: ")
    statuses = {r["properties"]["status"] for r in results}
    assert statuses == {"FAIL", "WARN", "ERROR"}
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert {n["associatedRule"]["id"] for n in notes if "associatedRule" in n} == \
        {r.id for r in mixed.results if r.status.value == "ERROR"}
    for result in results:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_locations_are_relative_uris_github_accepts(mixed):
    uris = {(r["ruleId"], r["properties"]["resource"]): r["locations"][0]["physicalLocation"]
            for r in run_of(mixed)["results"]}
    assert uris[("5.4", "web")]["artifactLocation"]["uri"] == "docker/containers/web"
    assert uris[("2.1", "")]["artifactLocation"]["uri"] == "docker/daemon/daemon-icc-disabled"
    assert uris[("1.7", "")]["artifactLocation"]["uri"] == "docker/host/audit-docker-daemon"
    for location in uris.values():
        uri = location["artifactLocation"]["uri"]
        assert not uri.startswith("/") and not re.match(r"^[a-z][a-z0-9+.-]*:", uri), uri
        assert location["region"] == {"startLine": 1}


def test_a_host_file_is_its_path_without_the_leading_slash(profile, checks):
    data = mixed_data()
    data["files"]["files"]["/etc/docker/daemon.json"]["mode"] = 0o666
    run = run_of(report_for(data, profile, checks, ("3.18",)))
    (result,) = run["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "etc/docker/daemon.json"


def test_fingerprints_are_stable_from_run_to_run_and_distinct(mixed, profile, checks):
    later = report_for(mixed_data(), profile, checks)
    later.started_at, later.finished_at = "2026-12-01T03:00:00+00:00", "2026-12-01T03:00:01+00:00"
    first = {(r["ruleId"], r["properties"]["resource"]): r["partialFingerprints"][FINGERPRINT]
             for r in run_of(mixed)["results"]}
    second = {(r["ruleId"], r["properties"]["resource"]): r["partialFingerprints"][FINGERPRINT]
              for r in run_of(later)["results"]}
    assert first == second
    assert len(set(first.values())) == len(first)
    other = report_for(dict(mixed_data(), host=dict(mixed_data()["host"], hostname="other")), profile, checks)
    assert not set(first.values()) & {r["partialFingerprints"][FINGERPRINT] for r in run_of(other)["results"]}


def test_one_category_per_host(mixed):
    assert run_of(mixed)["automationDetails"]["id"] == "docker-cis-bench/hardened/"


def test_hostile_strings_are_plain_text_and_valid_json(profile, checks):
    text = render_sarif(report_for(hostile_data(), profile, checks))
    text.encode("utf-8")                            # strict: no lone surrogate
    run = json.loads(text)["runs"][0]
    messages = " ".join(r["message"]["text"] for r in run["results"])
    assert "\x1b" not in messages and "\u202e" not in messages and "\\x1b\\]0;pwned" in messages
    assert "\\[link\\](https://evil.example/)" in messages and "[link](" not in messages.replace("\\[link\\](", "")
    web = next(r for r in run["results"] if r["ruleId"] == "5.4" and r["properties"]["resource"].startswith("web"))
    uri = web["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("docker/containers/web%1B%5D0%3Bpwned%07") and " " not in uri and "/" not in uri[18:]
    assert run["automationDetails"]["id"].startswith("docker-cis-bench/host_x1b_0_pwned")


@pytest.mark.parametrize("case", ["mixed", "hostile", "busy"])
def test_the_sarif_multitool_finds_no_errors(case, profile, checks):
    data = {"mixed": mixed_data, "hostile": hostile_data, "busy": busy_data}[case]()
    path = artifact(f"sample-{case}.sarif")
    path.write_text(render_sarif(report_for(data, profile, checks)), encoding="utf-8")
    validation = sarif_validate(path)
    assert sarif_errors(validation) == [], validation["console"]
    assert " error " not in validation["console"], validation["console"]


def test_the_multitool_does_catch_what_github_refuses(tmp_path, mixed):
    """The check can fail: a result without a location is an error under the GitHub rules."""
    log = json.loads(render_sarif(mixed))
    log["runs"][0]["results"][0]["locations"] = []
    path = tmp_path / "broken.sarif"
    path.write_text(json.dumps(log))
    errors = sarif_errors(sarif_validate(path))
    assert errors and any(e.startswith("GH") for e in errors), errors


def test_findings_since_a_baseline_are_new_or_unchanged(tmp_path, profile, checks):
    from bench.baseline import compare, load_baseline
    from bench.reporters.json_report import render_json

    earlier = report_for(mixed_data(), profile, checks, ("2.1", "5.4"))
    (tmp_path / "earlier.json").write_text(render_json(earlier))
    data = mixed_data()
    data["containers"]["items"][0]["inspect"]["HostConfig"]["Privileged"] = True    # db too, now
    report = report_for(data, profile, checks, ("2.1", "5.4"))
    report.baseline = compare(report, load_baseline(str(tmp_path / "earlier.json")), "earlier.json")
    states = {(r["ruleId"], r["properties"]["resource"]): r["baselineState"] for r in run_of(report)["results"]}
    assert states == {("2.1", ""): "unchanged", ("5.4", "web"): "unchanged", ("5.4", "db"): "new"}


def test_the_daemon_findings_are_run_properties_and_notes(mixed):
    run = run_of(mixed)
    assert mixed.daemon_findings and any("disagrees with the running daemon" in f for f in mixed.daemon_findings)
    assert run["properties"]["daemonFindings"] == mixed.daemon_findings
    notes = [n for n in run["invocations"][0]["toolExecutionNotifications"] if "associatedRule" not in n]
    assert [(n["level"], n["message"]["text"]) for n in notes] == \
        [("note", f"Daemon: {f}") for f in mixed.daemon_findings]


def test_labels_edition_and_both_scores(mixed, checks):
    run = run_of(mixed)
    assert run["properties"]["profileInfo"] == {"id": "cis-docker-1.11.0", "title": "CIS Docker 1.11.0 Benchmark v1.0.0",
                                                "edition": "1.11.0", "labels": "scored"}
    passed, judged = mixed.score()
    assert run["properties"]["score"] == {"passed": passed, "judged": judged}
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["5.4"]["properties"]["cisLabel"] == "Scored" and "scored" in rules["5.4"]["properties"]["tags"]
    assert rules["2.7"]["properties"]["cisLabel"] == "Not Scored" and "not scored" in rules["2.7"]["properties"]["tags"]

    relabelled = report_for(mixed_data(), assessment_profile(), checks)
    run = run_of(relabelled)
    auto_passed, auto_judged = relabelled.score("Automated")
    assert run["properties"]["profileInfo"]["labels"] == "assessment"
    assert run["properties"]["score"]["automated"] == {"passed": auto_passed, "judged": auto_judged}
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["5.4"]["properties"]["cisLabel"] == "Automated" and "automated" in rules["5.4"]["properties"]["tags"]
    assert rules["1.3"]["properties"]["cisLabel"] == "Manual" and "(Manual, level 1" in rules["1.3"]["fullDescription"]["text"]
    assert rules["2.7"]["defaultConfiguration"]["level"] == "error"   # counted in the score: not advice


def test_the_hint_is_a_run_property(mixed):
    mixed.hint = "Engine 28.5.1 is far newer than CIS Docker 1.11.0 Benchmark v1.0.0 was written for"
    try:
        assert run_of(mixed)["properties"]["hint"] == mixed.hint
    finally:
        mixed.hint = ""
    assert "hint" not in run_of(mixed)["properties"]


def test_the_multitool_accepts_an_edition_labelled_automated_or_manual(checks):
    path = artifact("sample-relabelled.sarif")
    path.write_text(render_sarif(report_for(mixed_data(), assessment_profile(), checks)), encoding="utf-8")
    validation = sarif_validate(path)
    assert sarif_errors(validation) == [], validation["console"]


def _result(check: str, items: list) -> RecommendationResult:
    status = Status.FAIL if items else Status.WARN
    return RecommendationResult("7.3", "7", "overlays encrypted", True, 1, status, "", "", [check], items)


@pytest.mark.parametrize(("check", "resource", "kind", "uri"), [
    ("swarm-overlay-encrypted", "backend", "swarm", "docker/swarm/backend"),
    ("swarm-autolock", "", "swarm", "docker/swarm/swarm-autolock"),
    ("daemon-icc", "", "daemon", "docker/daemon/daemon-icc"),
    ("container-privileged", "web", "container", "docker/containers/web"),
    ("host-docker-group", "", "host", "docker/host/host-docker-group"),
    ("file-daemon-json-owner", "/etc/docker/daemon.json", "file", "etc/docker/daemon.json"),
])
def test_what_a_resource_is_follows_the_check_that_judged_it(check, resource, kind, uri):
    items = [Item(resource, Status.FAIL, "not encrypted")] if resource else []
    result = _result(check, items)
    verdict = verdicts(result)[0]
    assert (verdict.kind, artifact_uri(result, verdict)) == (kind, uri)
