"""Waivers: accepted findings with a reason, an owner and an expiry; never a pass."""
from __future__ import annotations

import datetime
import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from bench.results import Item, RecommendationResult, Report
from bench.status import Status
from bench.waivers import WaiverFileError, apply_waivers, parse_waivers
from helpers import by_id, junit_schema, report_schema, run_main, write_case

TODAY = datetime.date(2026, 11, 30)
# The hardened host, with a privileged container `web` (5.3, 5.4, 5.21 FAIL for web; 5.17 WARN)
# and inter-container communication on (2.1 FAIL, a finding without per-resource items).
CASE = {"daemon_json": {"icc": True}, "container": {"name": "web", "inspect": {"HostConfig": {"Privileged": True}}}}

GOOD = """\
waivers:
  - id: "5.4"
    resource: "we*"
    justification: the node exporter needs the host's devices
    owner: ops@example.com
    expires: 2099-12-31
  - id: "2.1"
    justification: legacy links between the app containers
    owner: ops@example.com
    expires: 2099-12-31
"""


def waivers_file(tmp_path, text: str = GOOD) -> str:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return str(path)


def audit(tmp_path, *extra: str, case=CASE) -> tuple[int, str, str]:
    return run_main(["audit", "--facts", write_case(tmp_path / "facts.json", case), *extra])


# -- the file ------------------------------------------------------------------------------------

def test_a_waivers_file_is_read_with_every_field():
    waivers = parse_waivers(GOOD, "w.yaml").waivers
    assert [(w.id, w.resource, w.owner, w.expires) for w in waivers] == [
        ("5.4", "we*", "ops@example.com", datetime.date(2099, 12, 31)),
        ("2.1", "*", "ops@example.com", datetime.date(2099, 12, 31))]
    assert waivers[0].source == "w.yaml:2"


@pytest.mark.parametrize("text,where", [
    ("waivers:\n  - id: \"5.4\"\n    owner: a\n    expires: 2099-01-01\n", "w.yaml:2, waiver '5.4', field 'justification'"),
    ("waivers:\n  - id: \"5.4\"\n    justification: j\n    owner: a\n    expires: tomorrow\n",
     "w.yaml:5, waiver '5.4', field 'expires'"),
    # fromisoformat would take these; the file format says YYYY-MM-DD.
    ("waivers:\n  - id: \"5.4\"\n    justification: j\n    owner: a\n    expires: \"20270331\"\n",
     "w.yaml:5, waiver '5.4', field 'expires'"),
    ("waivers:\n  - id: \"5.4\"\n    justification: j\n    owner: a\n    expires: 2027-W13\n",
     "w.yaml:5, waiver '5.4', field 'expires'"),
    ("waivers:\n  - id: 5.10\n    justification: j\n    owner: a\n    expires: 2099-01-01\n", "w.yaml:2, waiver '5.1', field 'id'"),
    ("waivers:\n  - id: \"5.4\"\n    justification: j\n    owner: \"\"\n    expires: 2099-01-01\n",
     "w.yaml:4, waiver '5.4', field 'owner'"),
    ("waivers:\n  - id: \"5.4\"\n    justification: j\n    owner: a\n    expires: 2099-01-01\n    until: 2100-01-01\n",
     "w.yaml:6, waiver '5.4', field 'until'"),
    ("waivers:\n  - id: \"5.4\"\n    justification: j\n    owner: a\n    expires: 2099-01-01 10:00:00\n",
     "w.yaml:5, waiver '5.4', field 'expires'"),
    ("waiver:\n  - id: \"5.4\"\n", "w.yaml:1, field 'waiver'"),
    ("waivers: {id: 5}\n", "w.yaml:1, field 'waivers'"),
    ("waivers:\n  - just a line\n", "w.yaml:2, waiver '#1'"),
    ("waivers:\n  - id: \"5.4\"\n    id: \"5.5\"\n", "w.yaml:3"),
    ("waivers: [\n", "w.yaml:2"),
])
def test_a_malformed_file_names_file_line_and_field(text, where):
    with pytest.raises(WaiverFileError) as caught:
        parse_waivers(text, "w.yaml")
    assert str(caught.value).startswith(where), str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_malformed_file_exits_2_with_one_line_before_any_audit(tmp_path):
    path = waivers_file(tmp_path, GOOD.replace("expires: 2099-12-31", "expires: soon", 1))
    code, out, err = audit(tmp_path, "--waivers", path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"{path}:6, waiver '5.4', field 'expires'" in err


def test_a_missing_file_exits_2(tmp_path):
    code, _, err = audit(tmp_path, "--waivers", str(tmp_path / "absent.yaml"))
    assert code == 2 and "absent.yaml" in err and "cannot read" in err


# -- what waivers do -------------------------------------------------------------------------------

def _report(results: list[RecommendationResult], profile_id: str = "p") -> Report:
    return Report("t", "0", profile_id, "P", "h", None, "", "", results, {"5": "C"})


def _result(rec_id: str, items: list[Item], status: Status = Status.FAIL) -> RecommendationResult:
    return RecommendationResult(rec_id, rec_id.split(".")[0], "T", True, 1, status, "d", "r", ["c"], items)


def _waivers(*entries: str, profile: str = "") -> object:
    body = "".join(f"  - {{id: \"{e.split()[0]}\", resource: \"{e.split()[1]}\", justification: j, owner: o, "
                   f"expires: {e.split()[2]}}}\n" for e in entries)
    return parse_waivers((f"profile: {profile}\n" if profile else "") + "waivers:\n" + body, "w.yaml")


def test_only_matching_violations_are_waived_and_the_worst_of_the_rest_decides():
    result = _result("5.4", [Item("web", Status.FAIL, "privileged"), Item("db", Status.FAIL, "privileged"),
                             Item("cache", Status.PASS)])
    outcome = apply_waivers(_report([result]), _waivers("5.4 web 2099-01-01"), TODAY)
    assert [i.status for i in result.items] == [Status.WAIVED, Status.FAIL, Status.PASS]
    assert result.status == Status.FAIL and result.items[0].waiver.owner == "o"
    assert outcome.counts() == {"applied": 1, "expired": 0, "stale": 0, "waived_findings": 1}


def test_a_recommendation_whose_every_violation_is_waived_is_waived_not_passed():
    result = _result("5.4", [Item("web", Status.FAIL), Item("db", Status.WARN), Item("cache", Status.PASS)])
    apply_waivers(_report([result]), _waivers("5.4 * 2099-01-01"), TODAY)
    assert result.status == Status.WAIVED and "waived: web, db" in result.details


def test_an_error_is_never_waived():
    result = _result("5.4", [Item("web", Status.ERROR, "cannot inspect")], Status.ERROR)
    outcome = apply_waivers(_report([result]), _waivers("5.4 * 2099-01-01"), TODAY)
    assert result.status == Status.ERROR and result.items[0].status == Status.ERROR
    # Not stale either: the audit could not look, so the finding may well be there.
    assert not outcome.stale and not outcome.applied


def test_an_expired_waiver_leaves_the_finding_and_says_so():
    result = _result("5.4", [Item("web", Status.FAIL)])
    outcome = apply_waivers(_report([result]), _waivers("5.4 web 2026-11-29"), TODAY)
    assert result.status == Status.FAIL and result.items[0].status == Status.FAIL
    assert [w.expires for w in result.expired_waivers] == [datetime.date(2026, 11, 29)]
    assert not outcome.stale and list(outcome.expired.values()) == [[("5.4", "web")]]


def test_a_waiver_applies_through_its_expiry_day():
    result = _result("5.4", [Item("web", Status.FAIL)])
    apply_waivers(_report([result]), _waivers("5.4 web 2026-11-30"), TODAY)
    assert result.status == Status.WAIVED


def test_waivers_that_match_nothing_are_stale():
    results = [_result("5.4", [Item("web", Status.FAIL)]), _result("5.9", [], Status.PASS)]
    outcome = apply_waivers(_report(results), _waivers("5.4 db 2099-01-01", "5.9 * 2099-01-01"), TODAY)
    assert [(w.id, w.resource) for w in outcome.stale] == [("5.4", "db"), ("5.9", "*")]


def test_a_waiver_for_a_recommendation_not_evaluated_is_not_stale():
    # --check/--skip/--level left 5.9 out: its waiver may still be needed (found by an input review).
    result = _result("5.4", [Item("web", Status.FAIL)])
    outcome = apply_waivers(_report([result]), _waivers("5.9 * 2099-01-01"), TODAY)
    assert not outcome.stale and not outcome.applied


def test_an_expired_waiver_behind_a_valid_one_is_not_stale():
    result = _result("5.4", [Item("web", Status.FAIL)])
    outcome = apply_waivers(_report([result]), _waivers("5.4 web 2099-01-01", "5.4 web 2026-01-01"), TODAY)
    assert result.items[0].status == Status.WAIVED and not outcome.stale


def test_ids_of_another_edition_are_translated_through_the_concordance():
    result = _result("5.5", [Item("web", Status.FAIL)])
    concordance = {"5.5": {"cis-docker-1.8.0": "5.6"}}
    outcome = apply_waivers(_report([result]), _waivers("5.6 web 2099-01-01", "5.99 web 2099-01-01",
                                                        profile="cis-docker-1.8.0"), TODAY, concordance)
    assert result.status == Status.WAIVED
    assert [w.id for w in outcome.untranslated] == ["5.99"]


def test_a_waivers_file_naming_an_edition_nobody_ships_is_refused():
    with pytest.raises(WaiverFileError, match="field 'profile'"):
        apply_waivers(_report([]), _waivers("5.4 web 2099-01-01", profile="cis-docker-9.9"), TODAY, {})


def test_a_waived_fail_still_counts_against_the_score():
    results = [_result("5.4", [Item("web", Status.FAIL)]), _result("5.5", [Item("web", Status.PASS)], Status.PASS)]
    report = _report(results)
    before = report.score()
    apply_waivers(report, _waivers("5.4 * 2099-01-01"), TODAY)
    assert report.score() == before == (1, 2)


# -- every format ----------------------------------------------------------------------------------

def test_json_carries_each_waiver_and_validates(tmp_path):
    code, out, _ = audit(tmp_path, "--waivers", waivers_file(tmp_path), "--format", "json")
    data = json.loads(out)
    jsonschema.validate(data, report_schema())
    results = by_id(data)
    web = next(i for i in results["5.4"]["items"] if i["resource"] == "web")
    assert web["status"] == "WAIVED" and web["waiver"]["justification"].startswith("the node exporter")
    assert results["5.4"]["status"] == "WAIVED" and results["2.1"]["status"] == "WAIVED"
    assert results["2.1"]["waivers"][0]["owner"] == "ops@example.com"
    assert results["5.3"]["status"] == "FAIL"        # a waiver of 5.4 waives nothing else
    assert data["summary"]["WAIVED"] == 2
    assert data["waivers"]["applied"] == 2 and data["waivers"]["stale"] == []
    assert code == 1                                 # 5.3 and 5.21 still fail


def test_waived_findings_do_not_reach_fail_on(tmp_path):
    only_5_4 = ["--check", "5.4", "--check", "2.1"]
    assert audit(tmp_path, *only_5_4, "-q")[0] == 1
    assert audit(tmp_path, *only_5_4, "-q", "--waivers", waivers_file(tmp_path))[0] == 0
    expired = waivers_file(tmp_path, GOOD.replace("2099-12-31", "2020-01-01"))
    code, out, _ = audit(tmp_path, *only_5_4, "--waivers", expired)
    assert code == 1
    assert "expired on 2020-01-01: 5.4 we*" in out and "expired on 2020-01-01: 2.1 *" in out


def test_text_shows_the_waived_count_the_reason_and_stale_waivers(tmp_path):
    stale = GOOD + "  - {id: \"5.9\", justification: j, owner: sec, expires: 2099-01-01}\n"
    code, out, _ = audit(tmp_path, "--waivers", waivers_file(tmp_path, stale), "--wide")
    assert "WAIVED 2" in out
    flat = " ".join(out.split())     # the text report wraps long lines
    assert "waived: the node exporter needs the host's devices (owner ops@example.com, until 2099-12-31" in flat
    assert "stale: 5.9 * matched no finding (sec," in flat
    plain = audit(tmp_path)[1]
    assert "WAIVED" not in plain and "Waivers" not in plain   # a report without waivers reads as before


def test_junit_reports_a_waived_recommendation_as_skipped_with_the_reason(tmp_path):
    _, out, _ = audit(tmp_path, "--waivers", waivers_file(tmp_path), "--format", "junit")
    junit_schema().validate(out)
    case = next(c for c in ET.fromstring(out).iter("testcase") if c.get("name").startswith("2.1 "))
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("type") == "WAIVED"
    assert skipped.get("message").startswith("waived: legacy links between the app containers (owner ops@")


def test_a_waived_finding_is_not_fixed_since_the_baseline(tmp_path):
    code, before, _ = audit(tmp_path, "--format", "json")
    baseline = tmp_path / "before.json"
    baseline.write_text(before)
    _, after, _ = audit(tmp_path, "--format", "json", "--baseline", str(baseline), "--waivers", waivers_file(tmp_path))
    data = json.loads(after)
    assert data["baseline"]["fixed"] == 0 and data["baseline"]["new"] == 0


def test_the_documented_example_is_a_valid_waivers_file():
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "waivers.md").read_text()
    example = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    waivers = parse_waivers(example, "docs/waivers.md").waivers
    assert [(w.id, w.resource) for w in waivers] == [("5.15", "node-exporter*"), ("2.1", "*")]


# -- the formats other tools read -------------------------------------------------------------------

@pytest.fixture(scope="module")
def waived_outputs(tmp_path_factory):
    """One audit with waivers, written in every format other tools read."""
    folder = tmp_path_factory.mktemp("waived")
    waivers = folder / "waivers.yaml"
    waivers.write_text(GOOD)
    paths = {fmt: folder / f"report.{fmt}" for fmt in ("sarif", "ocsf", "prometheus", "html")}
    args = ["audit", "--facts", write_case(folder / "facts.json", CASE), "--waivers", str(waivers)]
    for fmt, path in paths.items():
        args += ["-o", f"{fmt}:{path}"]
    assert run_main(args)[0] == 1
    return paths


def test_sarif_suppresses_a_waived_finding_with_the_reason_and_validates(waived_outputs):
    from consumers import sarif_errors, sarif_validate

    run = json.loads(waived_outputs["sarif"].read_text())["runs"][0]
    waived = [r for r in run["results"] if r["properties"]["status"] == "WAIVED"]
    assert {(r["ruleId"], r["properties"]["resource"]) for r in waived} == {("5.4", "web"), ("2.1", "")}
    for result in waived:
        [suppression] = result["suppressions"]
        assert suppression["kind"] == "external" and suppression["status"] == "accepted"
        assert "owner ops@example.com, until 2099-12-31" in suppression["justification"]
    assert not any("suppressions" in r for r in run["results"] if r["properties"]["status"] != "WAIVED")
    assert sarif_errors(sarif_validate(waived_outputs["sarif"])) == []


def test_ocsf_marks_a_waived_finding_suppressed_and_validates(waived_outputs):
    from consumers import ocsf_schema

    validator = jsonschema.Draft202012Validator(ocsf_schema())
    findings = [json.loads(line) for line in waived_outputs["ocsf"].read_text().splitlines()]
    for finding in findings:
        validator.validate(finding)
    waived = {(f["compliance"]["control"], f["resources"][0]["name"]): f for f in findings
              if f["compliance"]["status_code"] == "WAIVED"}
    assert set(waived) == {("5.4", "web"), ("2.1", "hardened")}
    for finding in waived.values():
        assert (finding["status_id"], finding["status"]) == (3, "Suppressed")
        assert finding["compliance"]["status"] == "Fail"     # accepted, still not compliant
        assert finding["status_detail"].startswith("waived: ")


def test_prometheus_counts_waived_recommendations(waived_outputs):
    from prometheus_client.parser import text_string_to_metric_families

    samples = [s for f in text_string_to_metric_families(waived_outputs["prometheus"].read_text()) for s in f.samples]
    statuses = {s.labels["id"]: s.labels["status"] for s in samples
                if s.name == "docker_cis_bench_recommendation_status" and s.value == 1}
    assert statuses["5.4"] == statuses["2.1"] == "WAIVED" and statuses["5.3"] == "FAIL"


def test_html_shows_a_waived_recommendation_and_why(waived_outputs):
    from consumers import Page

    text = waived_outputs["html"].read_text()
    page = Page(text)
    assert {a["data-id"]: a["data-status"] for a in page.all("article")}["2.1"] == "WAIVED"
    assert "legacy links between the app containers (owner ops@example.com, until 2099-12-31" in text
