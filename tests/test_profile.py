import pytest
import yaml

from bench.profile import ProfileError, check_references, load_profile, parse_profile
from bench.selection import SelectionError, select_recommendations
from helpers import shared_data


def test_the_cis_1_11_profile_has_all_83_recommendations(profile, checks):
    assert len(profile.recommendations) == 83
    counts = {}
    for rec in profile.recommendations:
        counts[rec.section] = counts.get(rec.section, 0) + 1
    assert counts == {"1": 15, "2": 13, "3": 20, "4": 5, "5": 25, "6": 5}
    assert sum(r.scored for r in profile.recommendations) == 69
    assert sum(r.level == 2 for r in profile.recommendations) == 10
    check_references(profile, [c.id for c in checks])


def test_the_cis_1_11_profile_matches_the_reference_data(profile):
    """Ids, scoring and levels as the benchmark's PDF has them (../shared/cis, read from it)."""
    reference = yaml.safe_load(shared_data("cis/cis-docker-1.11.yaml").read_text())
    assert len(reference) == len(profile.recommendations)
    for ref, rec in zip(reference, profile.recommendations):
        assert (ref["id"], ref["scored"], ref["level"]) == (rec.id, rec.scored, rec.level)


def test_selection_by_id_section_check_and_level(profile):
    ids = lambda recs: [r.id for r in recs]  # noqa: E731
    assert ids(select_recommendations(profile, ["5.4"])) == ["5.4"]
    assert ids(select_recommendations(profile, ["2"]))[:3] == ["2.1", "2.2", "2.3"] and len(select_recommendations(profile, ["2"])) == 13
    assert ids(select_recommendations(profile, ["container-not-privileged"])) == ["5.4"]
    assert "5.4" not in ids(select_recommendations(profile, [], ["5.4"]))
    assert len(select_recommendations(profile, ["5"], ["5.1", "5.2"])) == 23
    level1 = select_recommendations(profile, level=1)
    assert all(r.level == 1 for r in level1) and len(level1) == 73
    assert len(select_recommendations(profile, level=2)) == 83
    with pytest.raises(SelectionError, match="'9.9'"):
        select_recommendations(profile, ["9.9"])


def test_unknown_profile_lists_the_shipped_ones():
    with pytest.raises(ProfileError, match="cis-docker-1.11.0"):
        load_profile("cis-docker-0.1")


@pytest.mark.parametrize("change,message", [
    (lambda d: d["recommendations"][0].update(level=3), "field 'level'"),
    (lambda d: d["recommendations"][0].update(scored="yes"), "field 'scored'"),
    (lambda d: d["recommendations"][0].update(checks=[]), "field 'checks'"),
    (lambda d: d["recommendations"][0].update(id="9.1"), "section '9'"),
    (lambda d: d["recommendations"][0].update(colour="red"), "field 'colour'"),
    (lambda d: d["recommendations"].append(dict(d["recommendations"][0])), "duplicate"),
    (lambda d: d.update(containers="stopped"), "field 'containers'"),
    (lambda d: d["recommendations"][0].update(containers="some"), "field 'containers'"),
])
def test_bad_profiles_are_refused(change, message):
    data = {"id": "p", "title": "P", "sections": {"1": "One"},
            "recommendations": [{"id": "1.1", "title": "t", "scored": True, "level": 1, "checks": ["a-b"]}]}
    change(data)
    with pytest.raises(ProfileError, match=message):
        parse_profile(data, "p.yaml")


def test_profile_referring_to_a_missing_check(profile):
    with pytest.raises(ProfileError, match="no check named"):
        check_references(profile, ["daemon-icc-disabled"])


def test_an_edition_says_which_containers_each_recommendation_judges():
    data = {"id": "p", "title": "P", "sections": {"5": "Five"}, "containers": "all",
            "recommendations": [{"id": "5.1", "title": "t", "scored": True, "level": 1, "checks": ["a-b"]},
                                {"id": "5.2", "title": "t", "scored": True, "level": 1, "checks": ["a-b"],
                                 "containers": "running"}]}
    profile = parse_profile(data, "p.yaml")
    assert [r.containers for r in profile.recommendations] == ["all", "running"]
    assert profile.wants_all_containers()
    assert not load_profile("cis-docker-1.11.0").wants_all_containers()
