"""Integration tests: the real CLI against throwaway dockerd instances on this machine.

They need root and Debian's docker.io (tests/dockerd.py installs it when it can). Where that is not
possible the tests are skipped with the reason, unless BENCH_REQUIRE_INTEGRATION=1 (CI sets it):
then an unavailable environment fails them, so CI cannot pass without having run them.

Each configuration's daemon lives for the test module that uses it (module-scoped fixtures), so at
most one of them runs at a time, and it is stopped, with everything made for it, however the tests
end.
"""
from __future__ import annotations

from typing import Iterator

import pytest

# The shared tests live in a helper module: let pytest explain their failing asserts too.
pytest.register_assert_rewrite("integration_common", "integration_host_checks")

from dockerd import Unavailable  # noqa: E402
from integration_env import (LIMITS, NOTES, Env, build_default, build_hardened, build_insecure,  # noqa: E402
                             environment, require_environment, unavailable)


@pytest.fixture(scope="session")
def integration_host() -> None:
    try:
        require_environment()
    except Unavailable as exc:
        unavailable(str(exc))


@pytest.fixture(scope="module")
def default_env(integration_host: None) -> Iterator[Env]:
    with environment(build_default) as env:
        yield env


@pytest.fixture(scope="module")
def hardened_env(integration_host: None) -> Iterator[Env]:
    with environment(build_hardened) as env:
        yield env


@pytest.fixture(scope="module")
def insecure_env(integration_host: None) -> Iterator[Env]:
    with environment(build_insecure) as env:
        yield env


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    notes = [(name, note) for name, items in NOTES.items() for note in items]
    if notes or NOTES:
        notes += [("all", note) for note in LIMITS]
        terminalreporter.section("integration: not made real on this machine")
        for name, note in notes:
            terminalreporter.write_line(f"[{name}] {note}")
