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


@pytest.fixture
def mixed_report(profile, checks):
    """A host with findings of every kind: FAIL, WARN, ERROR, SKIP, INFO, PASS."""
    from bench.evaluate import build_report, evaluate
    from bench.selection import select_recommendations
    from helpers import apply_case, facts_of, hardened_data

    data = apply_case(hardened_data(), {
        "daemon_json": {"icc": "__delete__", "default-ulimits": "__delete__"},
        "container": {"name": "web", "inspect": {"HostConfig": {"Privileged": True, "NetworkMode": "host"}}},
        "facts": {"audit": {"error": "auditctl: permission denied", "rules": []}},
    })
    facts = facts_of(data)
    results = evaluate(select_recommendations(profile), checks.checks, facts)
    return build_report(profile, results, facts, "2026-11-27T00:00:00+00:00")
