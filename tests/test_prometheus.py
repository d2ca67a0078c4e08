"""Prometheus text exposition for node_exporter's textfile collector, checked by promtool
(`promtool check metrics`: the format and Prometheus' naming rules) and read back by the
prometheus_client parser."""
from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.cli import main
from bench.reporters.prometheus import render_prometheus
from consumers import artifact, promtool_check
from report_cases import (assessment_profile, audited_hosts, busy_data, hostile_data, mixed_data, report_for,
                          write_assessment_profile)


def samples(text):
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples]


@pytest.fixture(scope="module")
def mixed(profile, checks):
    return report_for(mixed_data(), profile, checks)


def test_a_gauge_per_recommendation_counts_score_time_and_duration(mixed):
    mixed.duration_seconds = 0.4321
    found = samples(render_prometheus(mixed))
    status = [(labels, value) for name, labels, value in found if name == "docker_cis_bench_recommendation_status"]
    assert len(status) == 83 and all(value == 1 for _, value in status)
    web = next(labels for labels, _ in status if labels["id"] == "5.4")
    assert web == {"id": "5.4", "section": "5", "level": "1", "scored": "true", "label": "Scored",
                   "title": "Run no privileged containers", "status": "FAIL"}
    resources = {(l["id"], l["status"]): v for n, l, v in found if n == "docker_cis_bench_recommendation_resources"}
    assert resources[("5.4", "FAIL")] == 1 and resources[("5.4", "PASS")] == 1
    counts = {l["status"]: v for n, l, v in found if n == "docker_cis_bench_recommendations"}
    assert counts == {k: float(v) for k, v in mixed.summary().items()}
    single = {n: v for n, l, v in found if not l}
    passed, judged = mixed.score()
    assert single["docker_cis_bench_score_passed_recommendations"] == passed
    assert single["docker_cis_bench_score_judged_recommendations"] == judged
    assert single["docker_cis_bench_score_ratio"] == pytest.approx(passed / judged)
    assert single["docker_cis_bench_audit_duration_seconds"] == 0.432
    assert single["docker_cis_bench_audit_timestamp_seconds"] > 1.7e9
    assert single["docker_cis_bench_daemon_findings"] == len(mixed.daemon_findings) == 3
    # mixed_data's daemon.json was edited after the daemon started: one setting disagrees.
    assert single["docker_cis_bench_daemon_disagreements"] == len(mixed.daemon_disagreements) == 1
    assert "disagrees with the running daemon" in mixed.daemon_disagreements[0]
    assert not [n for n, _, _ in found if "automated" in n]     # 1.11.0 labels Scored/Not Scored: one score
    info = next(l for n, l, _ in found if n == "docker_cis_bench_report_info")
    assert (info["edition"], info["labels"], info["profile"]) == ("1.11.0", "scored", "cis-docker-1.11.0")


def test_an_edition_labelled_automated_or_manual_has_two_scores(checks):
    report = report_for(mixed_data(), assessment_profile(), checks)
    text = render_prometheus(report)
    assert promtool_check(text).returncode == 0, promtool_check(text).stdout
    single = {n: v for n, l, v in samples(text) if not l}
    passed, judged = report.score()
    auto_passed, auto_judged = report.score("Automated")
    assert auto_judged < judged
    assert (single["docker_cis_bench_score_passed_recommendations"],
            single["docker_cis_bench_score_judged_recommendations"]) == (passed, judged)
    assert (single["docker_cis_bench_score_automated_passed_recommendations"],
            single["docker_cis_bench_score_automated_judged_recommendations"]) == (auto_passed, auto_judged)
    assert single["docker_cis_bench_score_automated_ratio"] == pytest.approx(auto_passed / auto_judged)
    labels = {l["id"]: l["label"] for n, l, _ in samples(text) if n == "docker_cis_bench_recommendation_status"}
    assert labels["5.4"] == "Automated" and labels["1.3"] == "Manual"


@pytest.mark.parametrize("case", ["mixed", "hostile", "busy"])
def test_promtool_accepts_it(case, profile, checks):
    data = {"mixed": mixed_data, "hostile": hostile_data, "busy": busy_data}[case]()
    text = render_prometheus(report_for(data, profile, checks))
    artifact(f"sample-{case}.prom").write_text(text, encoding="utf-8")
    result = promtool_check(text)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == "", result.stdout + result.stderr


def test_promtool_does_catch_what_prometheus_refuses():
    """The check can fail: a counter without _total, a broken label value."""
    lint = promtool_check("# HELP runs Runs.\n# TYPE runs counter\nruns 1\n")
    assert lint.returncode != 0 and "_total" in lint.stdout + lint.stderr
    broken = promtool_check('# HELP x_y X.\n# TYPE x_y gauge\nx_y{a="b"c"} 1\n')
    assert broken.returncode != 0


def test_hostile_label_values_are_escaped(profile, checks):
    text = render_prometheus(report_for(hostile_data(), profile, checks))
    assert "\x1b" not in text and "\x00" not in text and "\u202e" not in text
    assert "\n# TYPE evil" not in text   # a newline in a host name cannot start a line of its own
    info = next(l for n, l, _ in samples(text) if n == "docker_cis_bench_report_info")
    assert info["hostname"].startswith("host\\x1b]0;pwned\\x07") and '"' in info["hostname"]

def test_merged_fleet_reports_as_prometheus(tmp_path, capsys):
    reports = audited_hosts(tmp_path, {"alpha": mixed_data(), "beta": busy_data()})
    reports += audited_hosts(tmp_path, {"gamma": mixed_data()}, write_assessment_profile(tmp_path))
    capsys.readouterr()
    assert main(["merge", *reports, "-o", "prometheus:-", "-o", f"json:{tmp_path / 'fleet.json'}"]) == 0
    text = capsys.readouterr().out
    assert promtool_check(text).returncode == 0, promtool_check(text).stdout
    fleet = json.loads((tmp_path / "fleet.json").read_text())
    found = samples(text)
    assert ("docker_cis_bench_fleet_hosts", {}, 3.0) in found
    for host in fleet["hosts"]:
        counts = {l["status"]: v for n, l, v in found if n == "docker_cis_bench_recommendations"
                  and l["host"] == host["hostname"]}
        assert counts == {k: float(v) for k, v in host["summary"].items()}
        automated = {n: v for n, l, v in found if "automated" in n and n.endswith("_recommendations")
                     and l["host"] == host["hostname"]}
        expected = host["score"].get("automated")
        assert automated == ({} if expected is None else {
            "docker_cis_bench_score_automated_passed_recommendations": expected["passed"],
            "docker_cis_bench_score_automated_judged_recommendations": expected["judged"]})
    assert "automated" in next(h for h in fleet["hosts"] if h["hostname"] == "gamma")["score"]
    spread = {(l["id"], l["status"]): v for n, l, v in found if n == "docker_cis_bench_fleet_recommendation_hosts"}
    for rec in fleet["recommendations"]:
        for status, key in (("FAIL", "failing_hosts"), ("ERROR", "error_hosts"), ("WARN", "warning_hosts")):
            assert spread.get((rec["id"], status), 0) == rec[key]
