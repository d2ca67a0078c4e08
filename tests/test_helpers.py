"""The test helpers' own rules where a wrong one would hide a test: shared reference data is found
beside the repository, and its absence skips a test only outside CI."""
import pytest

import helpers
from helpers import REPO, SHARED, shared_data


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """A stand-in for ../shared, outside CI unless a test says otherwise."""
    monkeypatch.setattr(helpers, "SHARED", tmp_path / "shared")
    monkeypatch.delenv("BENCH_REQUIRE_INTEGRATION", raising=False)
    monkeypatch.delenv("CI", raising=False)
    return tmp_path / "shared"


def test_shared_data_lives_beside_the_repository():
    assert SHARED == REPO.parent / "shared"


def test_present_shared_data_is_returned(shared):
    (shared / "cis").mkdir(parents=True)
    (shared / "cis" / "x.yaml").write_text("- id: '1.1'\n")
    assert shared_data("cis/x.yaml") == shared / "cis" / "x.yaml"


@pytest.mark.parametrize("ci", [None, "", "0", "false"])
def test_missing_shared_data_skips_outside_ci_saying_where(shared, monkeypatch, ci):
    if ci is not None:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=r"cis/x\.yaml is not at .*/shared/cis/x\.yaml"):
        shared_data("cis/x.yaml")


@pytest.mark.parametrize("variable,value", [("BENCH_REQUIRE_INTEGRATION", "1"), ("CI", "true"), ("CI", "1")])
def test_missing_shared_data_fails_in_ci(shared, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    (shared / "cis").mkdir(parents=True)   # a directory where the file should be is no file
    with pytest.raises(pytest.fail.Exception, match="CI requires it"):
        shared_data("cis")
    with pytest.raises(pytest.fail.Exception, match=r"cis/x\.yaml is not at"):
        shared_data("cis/x.yaml")
