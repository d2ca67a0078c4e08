import pytest

from helpers import facts_of, hardened_data


@pytest.fixture
def hardened():
    """The hardened host's facts as a dict, to change in a test."""
    return hardened_data()


@pytest.fixture
def hardened_facts():
    return facts_of(hardened_data())


@pytest.fixture(scope="session")
def checks():
    from bench.catalog import load_checks

    return load_checks(plugins=False)


@pytest.fixture(scope="session")
def profile():
    from bench.profile import load_profile

    return load_profile()
