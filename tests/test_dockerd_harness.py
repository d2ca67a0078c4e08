"""The throwaway-daemon harness's own rules, where they need no daemon: the subnet a bridge gets, the
lock that makes choosing one safe between test runs, and the options it refuses (the live half is
tests/integration/test_harness_network.py)."""
from __future__ import annotations

import errno
import ipaddress
import random

import pytest

from dockerd import BRIDGE_POOLS, Dockerd, free_subnet, network_lock

FIRST_POOL = ipaddress.IPv4Network(BRIDGE_POOLS[0])


def test_a_free_subnet_overlaps_nothing_in_use() -> None:
    left = list(FIRST_POOL.subnets(new_prefix=24))[1234]
    used = [*FIRST_POOL.address_exclude(left), ipaddress.IPv4Network("192.0.2.0/24")]
    for seed in range(20):
        assert free_subnet(used, rng=random.Random(seed)) == left


def test_an_address_or_a_wider_network_in_use_takes_its_subnets() -> None:
    used = [ipaddress.IPv4Network(f"{FIRST_POOL.network_address + 5}/32"), ipaddress.IPv4Network("10.0.0.0/8")]
    found = free_subnet(used, rng=random.Random(1))
    assert found is not None and not found.overlaps(ipaddress.IPv4Network("10.0.0.0/8"))
    assert found.subnet_of(ipaddress.IPv4Network(BRIDGE_POOLS[1])) and found.prefixlen == 24


def test_no_free_subnet_is_none() -> None:
    assert free_subnet([ipaddress.IPv4Network("0.0.0.0/0")]) is None


def test_the_first_pool_is_used_while_it_has_room() -> None:
    picks = {free_subnet([], rng=random.Random(seed)) for seed in range(50)}
    assert all(p.subnet_of(FIRST_POOL) for p in picks) and len(picks) > 40


def test_the_network_lock_is_held_by_one_at_a_time() -> None:
    name = f"test-{random.getrandbits(48):x}"
    with network_lock(name):
        with pytest.raises(OSError) as held:
            with network_lock(name, timeout=0.3):
                pass
        assert held.value.errno == errno.EADDRINUSE
    with network_lock(name, timeout=0.3):   # released on leaving
        pass


@pytest.mark.parametrize("args,daemon_json", [
    (["--bridge=none"], {}), (["--bridge", "docker0"], {}), (["-b", "none"], {}), ([], {"bridge": "none"}),
], ids=["--bridge=none", "--bridge docker0", "-b none", "daemon.json"])
def test_a_throwaway_daemon_takes_no_other_bridge_than_its_own(args, daemon_json) -> None:
    daemon = Dockerd(args=args, daemon_json=daemon_json, name="u")
    with pytest.raises(ValueError, match="deletes the host's docker0"):
        daemon.start()
    assert daemon.process is None and not daemon.dir.exists()
