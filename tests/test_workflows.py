"""Cron and CI workflows: baselines, quiet runs, stable JUnit, merged fleet reports."""
import json

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from bench.cli import main
from helpers import apply_case, hardened_data, report_schema, run_main, write_case, write_facts


def facts_file(tmp_path, name, case):
    return write_case(tmp_path / name, case)


def audit_json(args):
    code, out, _ = run_main(args + ["--format", "json"])
    return code, json.loads(out)


HOSTNET_WEB = {"container": {"name": "web", "inspect": {"HostConfig": {"NetworkMode": "host"}}}}
HOSTNET_BOTH = {"facts": {"containers": {"items": [
    {**c, "inspect": {**c["inspect"], "HostConfig": {**c["inspect"]["HostConfig"], "NetworkMode": "host"}}}
    for c in hardened_data()["containers"]["items"]]}}}


@pytest.fixture
def nightly(tmp_path, capsys):
    """Yesterday's report: web shares the host's network and icc is on."""
    case = dict(HOSTNET_WEB, daemon_json={"icc": "__delete__"})
    report = tmp_path / "yesterday.json"
    assert main(["--facts", facts_file(tmp_path, "y.json", case), "-f", "json", "-o", str(report)]) == 1
    capsys.readouterr()
    return str(report)


def test_baseline_marks_new_unchanged_and_fixed(tmp_path, nightly, capsys):
    # Today: icc fixed, web still on the host network, db newly on it.
    today = facts_file(tmp_path, "t.json", HOSTNET_BOTH)
    code, data = audit_json(["--facts", today, "--baseline", nightly])
    assert data["baseline"]["new"] == 1 and data["baseline"]["fixed"] == 1
    assert data["baseline"]["fixed_findings"] == [{"id": "2.1", "resource": "", "status": "FAIL"}]
    items = {i["resource"]: i.get("change") for i in next(r for r in data["results"] if r["id"] == "5.9")["items"]}
    assert items == {"db": "new", "web": "unchanged"}
    assert code == 1


def test_fail_on_new_alerts_only_on_regressions(tmp_path, nightly, capsys):
    same = facts_file(tmp_path, "same.json", HOSTNET_WEB)
    assert main(["--facts", same, "--baseline", nightly, "--fail-on", "new", "-q"]) == 0
    assert capsys.readouterr().out == ""  # cron mails nothing
    worse = facts_file(tmp_path, "worse.json", HOSTNET_BOTH)
    assert main(["--facts", worse, "--baseline", nightly, "--fail-on", "new", "-q"]) == 1
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and "1 new" in line


def test_fail_on_new_needs_a_baseline(capsys):
    assert main(["--facts", "x.json", "--fail-on", "new"]) == 2
    assert "--fail-on new needs --baseline" in capsys.readouterr().err


def test_a_bad_baseline_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "b.json"
    bad.write_text('{"results": 5}')
    facts = facts_file(tmp_path, "f.json", {})
    assert main(["--facts", facts, "--baseline", str(bad)]) == 2
    assert "not a docker-cis-bench JSON report" in capsys.readouterr().err


def test_a_missing_baseline_is_the_first_run(tmp_path, capsys):
    """The first night of a nightly job: no yesterday.json yet. The audit runs, every finding is
    new, one line says so, and the report is written to become the next night's baseline."""
    facts = facts_file(tmp_path, "f.json", dict(HOSTNET_WEB, daemon_json={"icc": "__delete__"}))
    missing, today = tmp_path / "yesterday.json", tmp_path / "today.json"
    assert main(["--facts", facts, "-q", "-f", "json", "-o", str(today), "--baseline", str(missing),
                 "--fail-on", "new"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.count("\n") == 1
    assert f"first run, no baseline {missing} yet: 2 new" in captured.out
    data = json.loads(today.read_text())
    assert data["baseline"] == {"source": str(missing), "new": 2, "unchanged": 0, "fixed": 0, "fixed_findings": [],
                                "first_run": True}
    jsonschema.validate(data, report_schema())
    flagged = {(r["id"], i["resource"]): i.get("change") for r in data["results"] for i in r.get("items") or []
               if i["status"] in ("FAIL", "WARN", "ERROR")}
    assert flagged == {("5.9", "web"): "new"}
    assert next(r for r in data["results"] if r["id"] == "2.1")["change"] == "new"
    assert not missing.exists()
    # The text report says it in one line.
    code, out, _ = run_main(["--facts", facts, "--baseline", str(missing)])
    flat = " ".join(out.split())     # the text report wraps long lines to its width
    assert code == 1 and flat.count("No baseline:") == 1 and "Since " not in flat
    assert f"No baseline: {missing} does not exist yet (first run); all 2 findings are new" in flat
    # The next night compares with it: nothing new.
    today.rename(missing)
    assert main(["--facts", facts, "-q", "--baseline", str(missing), "--fail-on", "new"]) == 0
    assert capsys.readouterr().out == ""


def test_a_first_run_with_no_finding_passes_fail_on_new(tmp_path, capsys):
    facts = facts_file(tmp_path, "f.json", {})
    assert main(["--facts", facts, "-q", "--baseline", str(tmp_path / "none.json"), "--fail-on", "new"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("kind", ["directory", "no-directory", "dangling-link", "malformed", "not-utf8"])
def test_a_baseline_that_exists_but_cannot_be_read_is_refused(tmp_path, capsys, kind):
    baseline = tmp_path / "yesterday.json"
    if kind == "directory":
        baseline.mkdir()
    elif kind == "no-directory":
        baseline = tmp_path / "typo" / "yesterday.json"
    elif kind == "dangling-link":
        baseline.symlink_to(tmp_path / "gone.json")
    elif kind == "malformed":
        baseline.write_text('{"schema_version": 1, "results": [')
    else:
        baseline.write_bytes(b"\xff\xfe")
    today = tmp_path / "today.json"
    facts = facts_file(tmp_path, "f.json", {})
    assert main(["--facts", facts, "-f", "json", "-o", str(today), "--baseline", str(baseline)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("docker-cis-bench: error: baseline: "), err
    assert str(baseline) in err and len(err.strip().splitlines()) == 1
    assert not today.exists()


def test_quiet_with_output_writes_the_report_and_one_line(tmp_path, capsys):
    facts = facts_file(tmp_path, "f.json", HOSTNET_WEB)
    report = tmp_path / "r.json"
    assert main(["--facts", facts, "-q", "-f", "json", "-o", str(report)]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "1 FAIL" in out
    assert json.loads(report.read_text())["summary"]["FAIL"] == 1


def junit_of(tmp_path, case, name):
    target = tmp_path / name
    main(["--facts", facts_file(tmp_path, name + ".facts", case), "-f", "junit", "-o", str(target)])
    return JUnitXml.fromfile(str(target))


def test_junit_reads_back_with_stable_names_and_right_counts(tmp_path):
    first = junit_of(tmp_path, HOSTNET_WEB, "a.xml")
    second = junit_of(tmp_path, HOSTNET_BOTH, "b.xml")
    names = lambda xml: [(s.name, c.classname, c.name) for s in xml for c in s]  # noqa: E731
    assert names(first) == names(second) and len(names(first)) == 83
    for suite in first:
        cases = list(suite)
        assert suite.tests == len(cases)
        assert suite.failures == sum(any(isinstance(r, Failure) for r in c.result) for c in cases)
        assert suite.errors == sum(any(isinstance(r, Error) for r in c.result) for c in cases)
        assert suite.skipped == sum(any(isinstance(r, Skipped) for r in c.result) for c in cases)
    case = next(c for s in first for c in s if c.name.startswith("5.9 "))
    assert case.classname == "cis-docker-1_11_0.section_5"
    assert isinstance(case.result[0], Failure) and "web" in case.result[0].text


def test_merge_ranks_recommendations_across_hosts(tmp_path, capsys):
    reports = []
    for host, case in (("alpha", HOSTNET_WEB), ("beta", HOSTNET_BOTH), ("gamma", {})):
        data = apply_case(hardened_data(), case)
        data["host"]["hostname"] = host
        out = tmp_path / f"{host}.json"
        main(["--facts", write_facts(tmp_path / f"{host}.facts", data), "-f", "json", "-o", str(out)])
        reports.append(str(out))
    capsys.readouterr()
    assert main(["merge", *reports, "--format", "json"]) == 0
    fleet = json.loads(capsys.readouterr().out)
    assert [h["hostname"] for h in fleet["hosts"]] == ["alpha", "beta", "gamma"]
    top = fleet["recommendations"][0]
    assert top["id"] == "5.9" and top["failing"] == ["alpha", "beta"] and top["failing_hosts"] == 2
    assert main(["merge", *reports]) == 0
    text = capsys.readouterr().out
    assert "3 hosts" in text and "5.9" in text


def test_merge_reads_reports_of_an_edition_labelled_automated_or_manual(tmp_path, capsys):
    """Such a report's score carries a second score (over the Automated ones): merge keeps both."""
    from report_cases import write_assessment_profile

    relabelled = write_assessment_profile(tmp_path)
    reports = []
    for host, profile in (("alpha", []), ("beta", ["--profile", relabelled])):
        data = apply_case(hardened_data(), HOSTNET_WEB)
        data["host"]["hostname"] = host
        out = tmp_path / f"{host}.json"
        main(["--facts", write_facts(tmp_path / f"{host}.facts", data), "-f", "json", "-o", str(out), *profile])
        reports.append(str(out))
    capsys.readouterr()
    assert main(["merge", *reports, "--format", "json"]) == 0
    hosts = {h["hostname"]: h for h in json.loads(capsys.readouterr().out)["hosts"]}
    beta = json.loads(open(reports[1]).read())["score"]
    assert hosts["beta"]["score"] == beta and beta["automated"]["judged"] > 0
    assert "automated" not in hosts["alpha"]["score"]


def test_merge_refuses_what_is_not_a_report(tmp_path, capsys):
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    assert main(["merge", str(junk)]) == 2
    assert "not a docker-cis-bench JSON report" in capsys.readouterr().err


def test_a_finding_that_got_worse_is_new(tmp_path, capsys):
    # Yesterday /etc was bound read-only into web (5.5 WARN); today read-write (FAIL).
    def etc_bind(rw):
        return {"container": {"name": "web", "inspect": {"Mounts": [
            {"Type": "bind", "Source": "/etc", "Destination": "/hostetc", "RW": rw, "Propagation": "rprivate"}]}}}

    yesterday = tmp_path / "yesterday.json"
    main(["--facts", facts_file(tmp_path, "y.json", etc_bind(False)), "-f", "json", "-o", str(yesterday)])
    capsys.readouterr()
    worse = facts_file(tmp_path, "t.json", etc_bind(True))
    code, data = audit_json(["--facts", worse, "--baseline", str(yesterday)])
    web = next(i for i in next(r for r in data["results"] if r["id"] == "5.5")["items"] if i["resource"] == "web")
    assert web["status"] == "FAIL" and web["change"] == "new" and web["previous_status"] == "WARN"
    assert main(["--facts", worse, "--baseline", str(yesterday), "--fail-on", "new", "-q"]) == 1
    # The same finding, no worse, is not new; one that got better is not new either.
    assert main(["--facts", facts_file(tmp_path, "s.json", etc_bind(False)), "--baseline", str(yesterday),
                 "--fail-on", "new", "-q"]) == 0
    failing = tmp_path / "failing.json"
    main(["--facts", worse, "-f", "json", "-o", str(failing)])
    capsys.readouterr()
    assert main(["--facts", facts_file(tmp_path, "b.json", etc_bind(False)), "--baseline", str(failing),
                 "--fail-on", "new", "-q"]) == 0


def test_a_baseline_of_another_edition_is_read_in_this_editions_numbering(tmp_path, capsys):
    # 5.10 is the memory limit in 1.11.0 and the host's network namespace in v1.8.0 (memory is 5.11
    # there): yesterday's memory finding on db must not make today's host-network finding "unchanged".
    def db(host_config):
        return {"container": {"name": "db", "inspect": {"HostConfig": host_config}}}

    yesterday = tmp_path / "yesterday.json"
    main(["--facts", facts_file(tmp_path, "y.json", db({"Memory": 0})), "-f", "json", "-o", str(yesterday)])
    capsys.readouterr()
    assert json.loads(yesterday.read_text())["profile"]["id"] == "cis-docker-1.11.0"
    # Recorded with --all, as v1.8.0 judges stopped containers too (else 5.11 is ERROR and fixes nothing).
    today = facts_file(tmp_path, "t.json", {**db({"Memory": 268435456, "NetworkMode": "host"}),
                                            "facts": {"containers": {"scope": "all", "requested": "all"}}})
    code, data = audit_json(["--facts", today, "--profile", "cis-docker-1.8.0", "--baseline", str(yesterday)])
    host_network = next(r for r in data["results"] if r["id"] == "5.10")
    assert "network" in host_network["title"]
    assert [(i["resource"], i.get("change")) for i in host_network["items"] if i["status"] == "FAIL"] == [("db", "new")]
    assert {"id": "5.11", "resource": "db", "status": "FAIL"} in data["baseline"]["fixed_findings"]
    assert data["baseline"]["edition"] == "cis-docker-1.11.0"
    assert main(["--facts", today, "--profile", "cis-docker-1.8.0", "--check", "5.10", "--baseline", str(yesterday),
                 "--fail-on", "new", "-q"]) == 1
    assert "the baseline was judged against cis-docker-1.11.0" in run_main(
        ["--facts", today, "--profile", "cis-docker-1.8.0", "--check", "5.10", "--baseline", str(yesterday)])[1]


def test_a_recommendation_that_could_not_be_judged_fixed_nothing(tmp_path, nightly, capsys):
    # Yesterday web shared the host's network (5.9); today the containers could not be listed.
    blind = facts_file(tmp_path, "blind.json", {"facts": {"containers": {"error": "permission denied", "items": []}}})
    code, data = audit_json(["--facts", blind, "--baseline", nightly])
    assert next(r for r in data["results"] if r["id"] == "5.9")["status"] == "ERROR"
    assert not [f for f in data["baseline"]["fixed_findings"] if f["id"] == "5.9"]


def test_a_report_is_its_own_baseline_whatever_bytes_its_names_hold(tmp_path, capsys):
    # A container name that is not UTF-8 is escaped in the JSON report: read back, it is the same finding.
    data = apply_case(hardened_data(), {"container": {"name": "web", "inspect": {"HostConfig": {"Privileged": True}}}})
    web = next(c for c in data["containers"]["items"] if c["name"] == "web")
    web["name"], web["inspect"]["Name"] = "bad\udcffutf8", "/bad\udcffutf8"
    facts = write_facts(tmp_path / "f.json", data)
    earlier = tmp_path / "earlier.json"
    main(["--facts", facts, "-f", "json", "-o", str(earlier)])
    capsys.readouterr()
    assert "\\udcff" in earlier.read_text()
    code, data = audit_json(["--facts", facts, "--baseline", str(earlier)])
    assert data["baseline"]["new"] == 0 and data["baseline"]["fixed"] == 0 and data["baseline"]["unchanged"] > 0
    assert main(["--facts", facts, "--baseline", str(earlier), "--fail-on", "new", "-q"]) == 0
