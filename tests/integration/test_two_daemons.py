"""Two daemons on one host: the audit reads the flags of the one behind the socket it talks to,
not those of the newest dockerd (docker-bench-security v1.1.0's `pgrep -n dockerd`)."""
from __future__ import annotations

import pytest

from dockerd import Dockerd
from helpers import by_id, run_bench

pytestmark = pytest.mark.integration


def audit(host: str) -> dict:
    result = run_bench(["--host", host, "-f", "json", "--check", "2.1,2.2"])
    assert result.returncode in (0, 1), result.stderr
    return by_id(result.stdout)


def test_each_daemon_is_judged_on_its_own_flags(integration_host):
    with Dockerd(args=["--icc=false"], name="old") as older, Dockerd(args=["--log-level=debug"], name="new") as newer:
        first = audit(older.host)
        assert first["2.1"]["status"] == "PASS" and "flag --icc=false" in first["2.1"]["details"]
        assert first["2.2"]["status"] == "PASS"
        second = audit(newer.host)
        assert second["2.1"]["status"] == "FAIL" and "icc=true (the running daemon" in second["2.1"]["details"]
        assert second["2.2"]["status"] == "FAIL" and "flag --log-level=debug" in second["2.2"]["details"]
