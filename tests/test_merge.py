"""merge over reports and unreachable-host markers: who is missing, who fails most, newest wins."""
import json

import pytest

from bench.cli import main
from helpers import apply_case, hardened_data, write_facts

PRIVILEGED_WEB = {"container": {"name": "web", "inspect": {"HostConfig": {"Privileged": True}}}}
ICC_ON = {"daemon_json": {"icc": "__delete__"}}


def report(tmp_path, host, case, started_at=None):
    data = apply_case(hardened_data(), case)
    data["host"]["hostname"] = host
    out = tmp_path / f"{host}-{started_at or 'now'}.json"
    main(["--facts", write_facts(tmp_path / f"{host}.facts", data), "-f", "json", "-o", str(out)])
    if started_at:
        written = json.loads(out.read_text())
        written["started_at"] = started_at
        out.write_text(json.dumps(written))
    return str(out)


def marker(tmp_path, host, reason="ssh: connect to host 10.9.9.9 port 22: Connection refused", at=""):
    path = tmp_path / f"{host}.unreachable.json"
    path.write_text(json.dumps({"schema_version": 1, "unreachable": {"hostname": host, "reason": reason, "at": at}}))
    return str(path)


def merged(capsys, *paths, fmt="json"):
    capsys.readouterr()
    assert main(["merge", *paths, "--format", fmt]) == 0
    out = capsys.readouterr().out
    return json.loads(out) if fmt == "json" else out


def test_an_unreachable_host_is_listed_by_name_with_its_reason(tmp_path, capsys):
    paths = [report(tmp_path, "alpha", {}), report(tmp_path, "beta", PRIVILEGED_WEB), marker(tmp_path, "ghost")]
    fleet = merged(capsys, *paths)
    assert [h["hostname"] for h in fleet["hosts"]] == ["alpha", "beta"]
    assert fleet["unreachable"] == [{"hostname": "ghost", "at": "", "marker": paths[2],
                                     "reason": "ssh: connect to host 10.9.9.9 port 22: Connection refused"}]
    text = merged(capsys, *paths, fmt="text")
    assert text.startswith("3 hosts: 2 audited, 1 unreachable\n")
    section = text.split("Unreachable hosts (no report)")[1]
    assert "ghost" in section and "Connection refused" in section
    assert "unreachable" not in merged(capsys, *paths[:2], fmt="text").splitlines()[0]


def test_hosts_are_ranked_by_how_much_fails(tmp_path, capsys):
    both = {**PRIVILEGED_WEB, **ICC_ON}
    paths = [report(tmp_path, "clean", {}), report(tmp_path, "one", ICC_ON), report(tmp_path, "two", both)]
    fleet = merged(capsys, *paths)
    ranked = fleet["hosts_failing_most"]
    assert [h["hostname"] for h in ranked] == ["two", "one"]     # clean has no finding: not ranked
    assert ranked[0]["FAIL"] > ranked[1]["FAIL"] > 0
    counts = {h["hostname"]: h["summary"] for h in fleet["hosts"]}
    assert counts["clean"]["FAIL"] == 0 and counts["two"]["FAIL"] == ranked[0]["FAIL"]
    text = merged(capsys, *paths, fmt="text")
    block = text.split("Hosts failing the most recommendations")[1].split("Recommendations failing")[0]
    assert block.index("two") < block.index("one") and "clean" not in block


def test_top_limits_the_ranked_hosts(tmp_path, capsys):
    paths = [report(tmp_path, name, ICC_ON) for name in ("h1", "h2", "h3")]
    capsys.readouterr()
    assert main(["merge", *paths, "--top", "2"]) == 0
    block = capsys.readouterr().out.split("Hosts failing the most recommendations")[1].split("Recommendations")[0]
    assert "h1" in block and "h2" in block and "h3" not in block


@pytest.mark.parametrize("marker_is_newer", [True, False])
def test_the_newest_of_a_report_and_a_marker_counts(tmp_path, capsys, marker_is_newer):
    old, new = "2026-11-29T03:15:00+00:00", "2026-11-30T03:15:00+00:00"
    paths = [report(tmp_path, "web1", ICC_ON, started_at=new if not marker_is_newer else old),
             marker(tmp_path, "web1", at=old if not marker_is_newer else new)]
    for order in (paths, paths[::-1]):
        fleet = merged(capsys, *order)
        if marker_is_newer:
            assert fleet["hosts"] == [] and [u["hostname"] for u in fleet["unreachable"]] == ["web1"]
            assert fleet["recommendations"] == []     # its old findings are not counted as today's
        else:
            assert [h["hostname"] for h in fleet["hosts"]] == ["web1"] and fleet["unreachable"] == []
            assert fleet["recommendations"][0]["failing"] == ["web1"]


def test_older_reports_of_a_host_do_not_count(tmp_path, capsys):
    paths = [report(tmp_path, "web1", ICC_ON, started_at="2026-11-29T03:15:00+00:00"),
             report(tmp_path, "web1", {}, started_at="2026-11-30T03:15:00+00:00")]
    for order in (paths, paths[::-1]):
        fleet = merged(capsys, *order)
        assert len(fleet["hosts"]) == 1 and fleet["hosts"][0]["summary"]["FAIL"] == 0
        assert fleet["recommendations"] == [] and fleet["hosts_failing_most"] == []


def test_a_report_with_the_automated_score_of_a_later_edition_merges(tmp_path, capsys):
    path = report(tmp_path, "web1", ICC_ON)
    data = json.loads(open(path).read())
    data["score"]["automated"] = {"passed": 40, "judged": 50}
    open(path, "w").write(json.dumps(data))
    fleet = merged(capsys, path)
    assert fleet["hosts"][0]["score"]["automated"] == {"passed": 40, "judged": 50}
    assert fleet["hosts"][0]["score"]["judged"] == data["score"]["judged"]


@pytest.mark.parametrize("content, message", [
    ('{"schema_version": 1, "unreachable": {"reason": "x"}}', "field 'unreachable.hostname'"),
    ('{"schema_version": 1, "unreachable": "web1"}', "field 'unreachable.hostname'"),
    ('{"schema_version": 2, "unreachable": {"hostname": "web1"}}', "marker of schema version 2"),
    ('{"schema_version": 1, "hostname": "web1"}', "not a docker-cis-bench JSON report"),
])
def test_a_malformed_marker_is_refused_naming_file_and_field(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert main(["merge", str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and str(bad) in err and len(err.strip().splitlines()) == 1


def test_hosts_not_reached_are_in_the_fleet_page_and_metrics_too(tmp_path, capsys):
    from prometheus_client.parser import text_string_to_metric_families

    from consumers import Page, promtool_check

    paths = [report(tmp_path, "alpha", {}), marker(tmp_path, "ghost")]
    page, metrics = tmp_path / "fleet.html", tmp_path / "fleet.prom"
    assert main(["merge", *paths, "-o", f"html:{page}", "-o", f"prometheus:{metrics}"]) == 0
    rows = Page(page.read_text()).all("tr", **{"class": "unreachable"})
    assert [r["data-host"] for r in rows] == ["ghost"] and "Connection refused" in page.read_text()
    text = metrics.read_text()
    assert promtool_check(text).returncode == 0, promtool_check(text).stdout
    found = [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]
    assert ("docker_cis_bench_fleet_host_unreachable", {"host": "ghost"}, 1.0) in found
    assert ("docker_cis_bench_fleet_hosts", {}, 1.0) in found


# -- fleets of more than one edition: ids are each edition's own (5.4 is privileged containers in
# 1.11.0, capabilities in 1.8.0) -------------------------------------------------------------------

def edition_report(tmp_path, host, case, profile):
    data = apply_case(hardened_data(), case)
    data["host"]["hostname"] = host
    out = tmp_path / f"{host}.json"
    main(["--facts", write_facts(tmp_path / f"{host}.facts", data), "-f", "json", "-o", str(out),
          "--profile", profile])
    return str(out)


def mixed_fleet(tmp_path):
    """alpha and beta on 1.11.0, old on 1.8.0; all three run a privileged container."""
    return [edition_report(tmp_path, "alpha", PRIVILEGED_WEB, "cis-docker-1.11.0"),
            edition_report(tmp_path, "beta", PRIVILEGED_WEB, "cis-docker-1.11.0"),
            edition_report(tmp_path, "old", PRIVILEGED_WEB, "cis-docker-1.8.0")]


def own_results(paths):
    """Each host's (edition, id) -> (title, status), as its own report says."""
    found = {}
    for path in paths:
        data = json.loads(open(path).read())
        found[data["host"]["hostname"]] = {(data["profile"]["edition"], r["id"]): (r["title"], r["status"])
                                           for r in data["results"]}
    return found


def test_each_host_is_counted_under_its_own_editions_recommendation(tmp_path, capsys):
    paths = mixed_fleet(tmp_path)
    own = own_results(paths)
    fleet = merged(capsys, *paths)
    assert fleet["editions"] == {"1.8.0": ["old"], "1.11.0": ["alpha", "beta"]}
    for rec in fleet["recommendations"]:
        for status, hosts in (("FAIL", rec["failing"]), ("ERROR", rec["errors"]), ("WARN", rec["warnings"])):
            for host in hosts:
                assert own[host][(rec["edition"], rec["id"])] == (rec["title"], status), (host, rec)
    privileged = {(r["edition"], r["id"]): r["failing"] for r in fleet["recommendations"]
                  if "privileged containers" in r["title"]}
    assert privileged == {("1.11.0", "5.4"): ["alpha", "beta"], ("1.8.0", "5.5"): ["old"]}
    # Per-host counts are the reports' own.
    assert {h["hostname"]: h["summary"] for h in fleet["hosts"]} == \
        {json.loads(open(p).read())["host"]["hostname"]: json.loads(open(p).read())["summary"] for p in paths}


def test_the_text_of_a_mixed_fleet_says_so_and_labels_each_recommendation(tmp_path, capsys):
    paths = mixed_fleet(tmp_path)
    lines = merged(capsys, *paths, fmt="text").splitlines()
    assert lines[0] == "3 hosts: 3 audited"
    assert lines[1] == "Mixed CIS editions, each numbering recommendations its own way: " \
                       "1.8.0 on 1 host, 1.11.0 on 2 hosts."
    ranking = lines[lines.index("Recommendations failing on the most hosts") + 2:]
    assert ranking[0].split()[:2] == ["Edition", "ID"]
    rows = {tuple(line.split()[:2]): line for line in ranking[2:]}
    assert "Run no privileged containers" in rows[("1.11.0", "5.4")] and "alpha, beta" in rows[("1.11.0", "5.4")]
    assert "privileged containers are not used" in rows[("1.8.0", "5.5")] and "old" in rows[("1.8.0", "5.5")]


def test_a_fleet_of_one_edition_shows_no_edition(tmp_path, capsys):
    paths = mixed_fleet(tmp_path)[:2]
    text = merged(capsys, *paths, fmt="text")
    assert "Edition" not in text and "Mixed" not in text
    fleet = merged(capsys, *paths)
    assert "editions" not in fleet and all("edition" not in r for r in fleet["recommendations"])


def test_a_report_naming_no_edition_takes_its_profiles_from_the_others(tmp_path, capsys):
    """Reports written before reports named their edition: the same profile is the same edition."""
    paths = mixed_fleet(tmp_path)
    data = json.loads(open(paths[1]).read())
    del data["profile"]["edition"]
    open(paths[1], "w").write(json.dumps(data))
    fleet = merged(capsys, *paths)
    assert fleet["editions"] == {"1.8.0": ["old"], "1.11.0": ["alpha", "beta"]}
    alone = merged(capsys, paths[1], paths[2])     # no other report of its profile: the profile's id
    assert alone["editions"] == {"1.8.0": ["old"], "cis-docker-1.11.0": ["beta"]}


def test_the_fleet_page_and_metrics_of_a_mixed_fleet_carry_the_edition(tmp_path, capsys):
    from prometheus_client.parser import text_string_to_metric_families

    from consumers import Page, promtool_check

    paths = mixed_fleet(tmp_path)
    page, metrics, report = tmp_path / "fleet.html", tmp_path / "fleet.prom", tmp_path / "fleet.json"
    assert main(["merge", *paths, "-o", f"html:{page}", "-o", f"prometheus:{metrics}", "-o", f"json:{report}"]) == 0
    recs = json.loads(report.read_text())["recommendations"]
    expected = [(r["edition"], r["id"], r["failing_hosts"], r["error_hosts"], r["warning_hosts"]) for r in recs]
    rows = Page(page.read_text()).all("tr", **{"class": "rank"})
    assert [(a["data-edition"], a["data-id"], int(a["data-fail"]), int(a["data-error"]), int(a["data-warn"]))
            for a in rows] == expected
    assert "1.8.0 on 1 host, 1.11.0 on 2 hosts" in page.read_text()
    text = metrics.read_text()
    assert promtool_check(text).returncode == 0, promtool_check(text).stdout
    spread = [(s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples
              if s.name == "docker_cis_bench_fleet_recommendation_hosts"]
    counted = {(l["edition"], l["id"], l["status"]): v for l, v in spread}
    assert len(counted) == len(spread)            # no two series of one edition, id and status
    assert counted == {(e, i, s): float(n) for e, i, *ns in expected
                       for s, n in zip(("FAIL", "ERROR", "WARN"), ns) if n}
    titles = {(l["edition"], l["id"]): l["title"] for l, _ in spread}
    assert titles[("1.8.0", "5.4")] != titles[("1.11.0", "5.4")]
