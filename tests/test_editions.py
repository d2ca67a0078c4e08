"""The shipped editions against the reference data in ../shared/cis: each profile holds the
edition's recommendations (ids, titles, levels, Automated/Manual labels), names their ids in the
other editions as versions.md's concordance does, refers only to checks that exist, and is the one
`--profile auto` picks for the engines it is written for."""
from __future__ import annotations

import re

import pytest
import yaml

from bench.catalog import load_checks
from bench.evaluate import evaluate
from bench.profile import concordance, edition_for, load_all_profiles, load_profile
from bench.selection import select_recommendations
from bench.status import Status
from helpers import facts_of, hardened_data, shared_data

# profile id -> the key of its ids in the reference file (v1.8.0 is the file's own numbering)
EDITIONS = {"cis-docker-1.6.0": "v1_6_0", "cis-docker-1.7.0": "v1_7_0", "cis-docker-1.8.0": None}
OLD = "cis-docker-1.11.0"
ABSENT = "—"


@pytest.fixture(scope="module")
def reference():
    return yaml.safe_load(shared_data("cis/cis-docker-1.8.0.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def versions():
    return shared_data("cis/versions.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def profiles():
    return {p.id: p for p in load_all_profiles()}


def ref_id(entry, profile_id):
    """The entry's id in an edition, "" where the edition does not have it."""
    key = EDITIONS.get(profile_id, "v1_11_0" if profile_id == OLD else None)
    value = entry["id"] if key is None else entry["ids"][key]
    return "" if value == ABSENT else value


def ref_label(entry, profile_id):
    """The edition's label: v1.8.0's, which v1.7.0 shares; v1.6.0's before v1.7.0 changed it."""
    label = entry["assessment"]
    if profile_id == "cis-docker-1.6.0":
        for change in entry.get("changed_in") or []:
            moved = re.match(r"v1\.7\.0: assessment (\w+)->(\w+)$", change)
            if moved:
                assert moved.group(2) == label, entry["id"]
                label = moved.group(1)
    return label


def ref_title(entry, profile_id):
    """v1.6.0's 1.1.9 audits the docker.socket unit; v1.7.0 renamed it to the socket file."""
    if profile_id == "cis-docker-1.6.0" and any("title and target changed" in c for c in entry.get("changed_in") or []):
        assert entry["title"].endswith("- docker.sock"), entry["id"]
        return entry["title"] + "et"
    return entry["title"]


def markdown_rows(text, first_header_cell):
    """The rows of the versions.md table whose header starts with first_header_cell, as lists of cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header_cell} |"))
    header = [c.strip() for c in lines[start].strip().strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (c.strip() for c in line.strip().strip("|").split("|")))))
    return rows


def test_the_three_editions_and_1_11_0_are_shipped(profiles):
    assert set(profiles) == {OLD, *EDITIONS}
    for profile_id in EDITIONS:
        profile = profiles[profile_id]
        assert profile.labels == "assessment" and profile.edition == profile_id.removeprefix("cis-docker-")
        assert profile.title == f"CIS Docker Benchmark v{profile.edition}"
    # Newest first by publication, which is how --profile auto ranks them.
    assert sorted(profiles, key=lambda p: profiles[p].published) == [OLD, *EDITIONS]


@pytest.mark.parametrize("profile_id", EDITIONS)
def test_each_edition_holds_its_recommendations_section_by_section(profile_id, profiles, reference, versions):
    profile = profiles[profile_id]
    expected = sorted((ref_id(e, profile_id) for e in reference if ref_id(e, profile_id)),
                      key=lambda i: [int(x) for x in i.split(".")])
    assert [r.id for r in profile.recommendations] == expected
    edition = profile.edition
    (row,) = [r for r in markdown_rows(versions, "Version (date)") if r["Version (date)"].startswith(f"CIS Docker v{edition} ")]
    for section in "1234567":
        assert sum(r.section == section for r in profile.recommendations) == int(row[f"§{section}"]), section
    assert len(profile.recommendations) == int(row["Total"]) == {"1.6.0": 117, "1.7.0": 117, "1.8.0": 118}[edition]
    assert list(profile.sections) == list("1234567")


@pytest.mark.parametrize("profile_id", EDITIONS)
def test_titles_levels_and_labels_are_the_editions(profile_id, profiles, reference):
    profile = profiles[profile_id]
    for entry in reference:
        rec = profile.get(ref_id(entry, profile_id))
        if rec is None:
            assert not ref_id(entry, profile_id)
            continue
        assert rec.title == ref_title(entry, profile_id), rec.id
        assert rec.level == entry["level"], rec.id
        assert rec.label == ref_label(entry, profile_id), rec.id
        # Every recommendation of an assessment edition counts, whatever its label.
        assert rec.scored and not rec.advisory, rec.id
        assert rec.remediation.strip(), rec.id


def test_the_automated_labels_differ_between_the_editions_as_the_reference_says(profiles):
    automated = {p: [r.id for r in profiles[p].recommendations if r.label == "Automated"] for p in EDITIONS}
    assert {p: len(ids) for p, ids in automated.items()} == {
        "cis-docker-1.6.0": 21, "cis-docker-1.7.0": 23, "cis-docker-1.8.0": 23}
    for profile_id, ids in automated.items():
        sections = {s: sum(i.split(".")[0] == s for i in ids) for s in "1234567"}
        assert sections == {"1": 11 if profile_id.endswith("1.6.0") else 13, "2": 0, "3": 10, "4": 0, "5": 0,
                            "6": 0, "7": 0}, profile_id
    assert set(automated["cis-docker-1.7.0"]) - set(automated["cis-docker-1.6.0"]) == {"1.1.15", "1.1.17", "1.1.18"}
    assert set(automated["cis-docker-1.6.0"]) - set(automated["cis-docker-1.7.0"]) == {"1.1.4"}


@pytest.mark.parametrize("profile_id", EDITIONS)
def test_same_as_names_every_other_shipped_edition_as_the_reference_does(profile_id, profiles, reference):
    profile = profiles[profile_id]
    others = sorted(set(profiles) - {profile_id})
    for entry in reference:
        rec = profile.get(ref_id(entry, profile_id))
        if rec is None:
            continue
        assert sorted(rec.same_as) == others, rec.id
        assert rec.same_as == {other: ref_id(entry, other) for other in others}, rec.id


def test_same_as_reads_the_same_both_ways(profiles):
    table = concordance(profiles.values())
    for profile in profiles.values():
        for rec in profile.recommendations:
            for other_id, other in profiles.items():
                if other_id == profile.id:
                    continue
                theirs = table.get(profile.id, {}).get(rec.id, {}).get(other_id, "")
                if rec.same_as:
                    assert theirs == rec.same_as[other_id], (profile.id, rec.id, other_id)
                if theirs:
                    back = other.get(theirs)
                    assert back is not None, (profile.id, rec.id, other_id, theirs)
                    assert table[other_id][theirs][profile.id] == rec.id
                    assert not back.same_as or back.same_as[profile.id] == rec.id
    # A recommendation another edition dropped or did not have yet maps to nothing there.
    assert table[OLD].get("1.2", {}) == {} and "2.13" not in table[OLD]
    assert "2.7" not in table["cis-docker-1.8.0"] and table["cis-docker-1.8.0"]["2.8"]["cis-docker-1.6.0"] == "2.7"


def test_the_concordance_is_versions_md(profiles, versions):
    table = concordance(profiles.values())
    rows = markdown_rows(versions, "1.11 id")
    assert len(rows) == len(profiles[OLD].recommendations) == 83
    for row in rows:
        assert profiles[OLD].get(row["1.11 id"]) is not None, row["1.11 id"]
        for profile_id in EDITIONS:
            wanted = row[profile_id.removeprefix("cis-docker-")]
            assert table[OLD].get(row["1.11 id"], {}).get(profile_id, "") == ("" if wanted == ABSENT else wanted), (
                row["1.11 id"], profile_id)
    new = [r for r in markdown_rows(versions, "concept") if any(r[e.removeprefix("cis-docker-")] != ABSENT for e in EDITIONS)]
    assert len(new) == 41
    for row in new:
        ids = {e: row[e.removeprefix("cis-docker-")] for e in EDITIONS}
        for profile_id, rec_id in ids.items():
            if rec_id == ABSENT:
                continue
            rec = profiles[profile_id].get(rec_id)
            assert rec is not None, (row["concept"], profile_id)
            assert rec.same_as[OLD] == "", (row["concept"], profile_id)
            for other, other_id in ids.items():
                if other != profile_id:
                    assert rec.same_as[other] == ("" if other_id == ABSENT else other_id), (row["concept"], profile_id)


def test_where_the_wording_changed_the_check_follows_the_edition(profiles):
    v16, v17, v18 = (profiles[p] for p in EDITIONS)
    # 1.1.9: the docker.socket unit in v1.6.0, the socket file from v1.7.0 on.
    assert v16.get("1.1.9").checks == ("audit-docker-socket-unit",)
    assert v17.get("1.1.9").checks == v18.get("1.1.9").checks == ("audit-docker-socket-file",)
    # 5.6: /lib64 joined the sensitive directories in v1.7.0.
    dirs = {p.id: p.get("5.6").params["container-sensitive-mounts"]["directories"].split(",") for p in (v16, v17, v18)}
    assert dirs["cis-docker-1.6.0"] == ["/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"]
    assert dirs["cis-docker-1.7.0"] == dirs["cis-docker-1.8.0"] == sorted(dirs["cis-docker-1.6.0"] + ["/lib64"])
    for profile in (v16, v17, v18):
        # 5.24 asks about exec as root only; 1.11.0's 5.23 about any --user.
        assert profile.get("5.24").params == {"exec-no-user": {"users": "root"}}
        # The binaries of current engines, not 1.11.0's /usr/bin/docker, docker-containerd, docker-runc.
        assert [profile.get(i).checks for i in ("1.1.3", "1.1.14", "1.1.18")] == [
            ("audit-daemon-binary",), ("audit-containerd-binary",), ("audit-runc-binary",)]
    assert profiles[OLD].get("5.23").params == {} and profiles[OLD].get("1.7").checks == ("audit-docker-daemon",)
    assert v18.get("2.7").checks == ("engine-storage-not-devicemapper",) and v17.get("2.7").checks == ("daemon-tls-verify",)


def test_a_recommendation_1_11_0_has_keeps_its_checks_unless_the_edition_changed_it(profiles):
    changed = {"1.1.3", "1.1.9", "1.1.14", "1.1.18"}
    for profile_id in EDITIONS:
        for rec in profiles[profile_id].recommendations:
            old = profiles[OLD].get(rec.same_as[OLD]) if rec.same_as[OLD] else None
            if old is None or rec.id in changed:
                continue
            assert rec.checks == old.checks, (profile_id, rec.id)
            assert rec.automation == old.automation, (profile_id, rec.id)


def test_every_check_a_profile_names_exists():
    known = {c.id for c in load_checks(plugins=False)}
    missing = sorted({(c, p.id) for p in load_all_profiles() for r in p.recommendations for c in r.checks
                      if c not in known})
    assert not missing, "checks the profiles name that do not exist: " + ", ".join(
        sorted({c for c, _ in missing}))


def test_settings_in_a_profile_are_settings_the_check_takes():
    checks = {c.id: c for c in load_checks(plugins=False)}
    for profile in load_all_profiles():
        for rec in profile.recommendations:
            for check_id, settings in rec.params.items():
                check = checks.get(check_id)
                if check is None:
                    continue  # reported by the test above
                assert set(settings) <= set(check.params), (profile.id, rec.id, check_id)
                for name, value in settings.items():
                    assert check.prepare is not None and check.prepare(name, value) is not None


@pytest.mark.parametrize("profile_id", EDITIONS)
def test_every_edition_is_judged_on_the_hardened_host(profile_id, checks):
    profile = load_profile(profile_id)
    data = hardened_data()
    data["containers"]["scope"] = "all"    # recorded as `record` does: stopped containers too (none here)
    results = evaluate(select_recommendations(profile), checks.checks, facts_of(data))
    by_status = {}
    for r in results:
        by_status.setdefault(r.status, []).append(r.id)
    assert len(results) == len(profile.recommendations)
    assert Status.FAIL not in by_status and Status.ERROR not in by_status, by_status
    manual = {r.id for r in profile.recommendations if r.automation == "manual"}
    assert manual <= set(by_status.get(Status.INFO, [])) | set(by_status.get(Status.SKIP, [])), by_status


@pytest.mark.parametrize("engine,edition", [
    ("1.11.2", OLD), ("1.11.0", OLD),
    ("20.10.24", "cis-docker-1.8.0"), ("24.0.7", "cis-docker-1.8.0"), ("28.3.3", "cis-docker-1.8.0"),
    ("29.0.0", "cis-docker-1.8.0"),
])
def test_auto_picks_the_edition_written_for_the_engine(engine, edition, profiles):
    chosen, reason = edition_for(engine, profiles.values())
    assert chosen.id == edition, reason
    assert "is written for" in reason


def test_an_engine_between_the_editions_gets_the_newest_older_one_and_is_told(profiles):
    chosen, reason = edition_for("19.03.15", profiles.values())
    assert chosen.id == OLD and reason.startswith("no edition is written for engine 19.03.15")


@pytest.mark.parametrize("profile_id", ["cis-docker-1.7.0", "cis-docker-1.8.0"])
def test_later_editions_judge_stopped_containers_but_not_for_what_runs(profile_id):
    """v1.7.0's audits list containers with `docker ps --all`, except where they look at what runs."""
    profile = load_profile(profile_id)
    running = {r.id for r in profile.recommendations if r.containers == "running"}
    assert running == {"4.1", "5.7", "5.8", "5.9", "5.14", "5.27"}
    assert profile.wants_all_containers() and not load_profile("cis-docker-1.6.0").wants_all_containers()
