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
from report_cases import audited_hosts, busy_data, hostile_data, mixed_data, report_for


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
    assert web == {"id": "5.4", "section": "5", "level": "1", "scored": "true", "title": "Run no privileged containers",
                   "status": "FAIL"}
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
    capsys.readouterr()
    assert main(["merge", *reports, "-o", "prometheus:-", "-o", f"json:{tmp_path / 'fleet.json'}"]) == 0
    text = capsys.readouterr().out
    assert promtool_check(text).returncode == 0, promtool_check(text).stdout
    fleet = json.loads((tmp_path / "fleet.json").read_text())
    found = samples(text)
    assert ("docker_cis_bench_fleet_hosts", {}, 2.0) in found
    for host in fleet["hosts"]:
        counts = {l["status"]: v for n, l, v in found if n == "docker_cis_bench_recommendations"
                  and l["host"] == host["hostname"]}
        assert counts == {k: float(v) for k, v in host["summary"].items()}
    spread = {(l["id"], l["status"]): v for n, l, v in found if n == "docker_cis_bench_fleet_recommendation_hosts"}
    for rec in fleet["recommendations"]:
        for status, key in (("FAIL", "failing_hosts"), ("ERROR", "error_hosts"), ("WARN", "warning_hosts")):
            assert spread.get((rec["id"], status), 0) == rec[key]
