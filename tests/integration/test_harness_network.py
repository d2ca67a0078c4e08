"""The test harness leaves the host's network alone: throwaway daemons (tests/dockerd.py) started
beside a running daemon leave every interface that was there (docker0 included) and that daemon's
networks as they were, and the daemon can still start a container on its default bridge.

The resident daemon is the machine's own where one owns docker0: then it is only looked at (its
interfaces, `docker network ls` and inspect), never given a container. Where no docker0 exists (as
on the test machine), the test starts its own resident, with dockerd's default bridge, so that
docker0 is there to lose; it takes docker0 away again afterwards. A second test shows that the first
can fail: a daemon started with `--bridge=none`, as the harness used to start them, deletes docker0
(only ever the one this test's own resident made).

Test runs on this machine share its network even where they share no files: these tests take a
lock over the network (dockerd.network_lock) for as long as a resident daemon and its docker0 exist.
Other processes may still delete docker0 meanwhile (a copy of the harness from before its daemons
had bridges of their own, in another worktree): `ip monitor` tells when docker0 went, a deletion
while one of this test's daemons started fails the test, one at any other time spoils the attempt,
which is made again.
"""
from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import pytest

from dockerd import Dockerd, Unavailable, iptables_rules, network_lock
from host_network import (LinkMonitor, bridges_of, changed_links, ipv4_network, links, networks, rules_of, timed,
                          within)
from integration_env import IMAGE, build_insecure, free_port, start_daemon, unavailable

pytestmark = pytest.mark.integration

DOCKER0 = "docker0"
SYSTEM_HOST = "unix:///var/run/docker.sock"


class ResidentDockerd(Dockerd):
    """A daemon as a machine's own runs: on dockerd's default bridge, docker0, which it creates.
    Started only where no docker0 exists; stop() deletes docker0 and the iptables rules that came
    with it (those naming docker0 or its subnet that were not there before)."""

    def bridge_args(self) -> list[str]:
        return []

    def make_network(self) -> None:
        if DOCKER0 in links():
            raise RuntimeError("docker0 exists: it is not this test's to take over")
        self.bridge_name = DOCKER0
        self.rules_before = {tuple(rule) for rule in iptables_rules()}
        self.cleanups.append(self._remove_docker0)

    def start(self, timeout: float = 60.0) -> "ResidentDockerd":
        super().start(timeout)
        # Its subnet names its iptables rules; unknown when another process deleted docker0 already
        # (the tests see that and try again).
        with contextlib.suppress(KeyError, ValueError):
            self.bridge_subnet = ipv4_network(DOCKER0)
        return self

    def _remove_docker0(self) -> None:
        for table, *rule in iptables_rules():
            if (table, *rule) not in self.rules_before and self.owns_rule(rule):
                run_quietly(["iptables", "-w", "-t", table, "-D", *rule])
        run_quietly(["ip", "link", "del", DOCKER0])


class BridgeNoneDockerd(Dockerd):
    """A daemon started as the harness used to start them: `--bridge=none`."""

    def bridge_args(self) -> list[str]:
        return ["--bridge=none"]

    def make_network(self) -> None:
        pass


class SystemDaemon:
    """The machine's own daemon behind /var/run/docker.sock: asked, never changed."""

    host = SYSTEM_HOST
    env = Dockerd.env

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert tuple(args[:2]) in (("network", "ls"), ("network", "inspect")) or args[:1] == ("version",), args
        return Dockerd.docker(self, *args, check=check)  # type: ignore[arg-type]

    def answers(self) -> bool:
        return os.path.exists(SYSTEM_HOST.removeprefix("unix://")) and \
            self.docker("version", check=False).returncode == 0


def run_quietly(argv: list[str]) -> None:
    subprocess.run(argv, capture_output=True, check=False)


# -- the resident daemon ----------------------------------------------------------------------------------

@dataclass
class Resident:
    own: Optional[ResidentDockerd]           # started by this test (no docker0 existed)
    system: Optional[SystemDaemon]           # the machine's own, looked at only
    watched: list[Any] = field(default_factory=list)


@contextlib.contextmanager
def resident_daemon() -> Iterator[Resident]:
    with network_lock("docker0"), contextlib.ExitStack() as stack:
        had_docker0 = DOCKER0 in links()
        system: Optional[SystemDaemon] = SystemDaemon()
        if not system.answers():
            system = None
        own = None
        if not had_docker0:
            own = ResidentDockerd(name="res")
            try:
                start_daemon(stack, own)
                own.import_busybox(IMAGE)
            except Unavailable as exc:
                unavailable(str(exc))
        yield Resident(own, system, [d for d in (own, system) if d is not None])


def container_address_on_docker0(daemon: ResidentDockerd) -> str:
    """Where a container the daemon starts on its default bridge lands, or why it did not start."""
    started = daemon.docker("run", "-d", "--name", "probe", IMAGE, "sleep", "100000", check=False)
    try:
        if started.returncode != 0:
            return f"not started: {started.stderr.strip()}"
        return daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", "probe").stdout.strip()
    finally:
        daemon.docker("rm", "-f", "probe", check=False)


# Another process on this machine may delete docker0 while a test runs (an older copy of the
# harness in another worktree); an attempt it spoils is made again.
ATTEMPTS = 3


# -- the tests ---------------------------------------------------------------------------------------------

def test_throwaway_daemons_leave_docker0_and_the_resident_daemon_alone(integration_host: None) -> None:
    for _ in range(ATTEMPTS):
        with resident_daemon() as resident, LinkMonitor() as monitor:
            if daemons_beside(resident, monitor):
                return
    pytest.fail(f"docker0 was deleted by another process on this machine during each of {ATTEMPTS} attempts",
                pytrace=False)


def daemons_beside(resident: Resident, monitor: LinkMonitor) -> bool:
    """Harness daemons (the default configuration and the insecure one) started and stopped beside
    the resident; False when another process deleted docker0 meanwhile (nothing is judged then)."""
    before = links()
    if DOCKER0 not in before:
        return False   # gone before anything of this test ran
    networks_before = {d.host: networks(d) for d in resident.watched}
    protected = {DOCKER0}.union(*map(bridges_of, networks_before.values()))
    starts: list[tuple[float, float]] = []
    with contextlib.ExitStack() as stack:
        try:
            with timed(starts):
                plain = start_daemon(stack, Dockerd(name="hp"))
            plain.import_busybox(IMAGE)
            plain.docker("run", "-d", "--name", "web", "-p", f"127.0.0.1:{free_port()}:8080", IMAGE,
                         "sleep", "100000")
            network = plain.docker("network", "create", "extra").stdout.strip()   # a bridge br-<id>
            with timed(starts):
                insecure = build_insecure(stack).daemon   # TLS on tcp, --iptables=false, and more
        except Unavailable as exc:
            unavailable(str(exc))
        ours = [plain, insecure]
        during = links()
        networks_during = {d.host: networks(d) for d in resident.watched}
        web = plain.docker("inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", "web").stdout.strip()
        plain_rules = rules_of([plain])
    after = links()
    networks_after = {d.host: networks(d) for d in resident.watched}
    probe = container_address_on_docker0(resident.own) if resident.own is not None else None

    deleted = monitor.deletions(DOCKER0)
    assert not [t for t in deleted if within(t, starts)], "docker0 was deleted while a harness daemon started"
    if deleted:
        return False
    assert changed_links(before, during, protected) == []
    assert networks_during == networks_before
    assert web and ipaddress.IPv4Address(web) in plain.bridge_subnet, web
    assert plain_rules, "the daemon on its own bridge made no iptables rules to clean up"
    for daemon in ours:
        assert during[daemon.bridge_name]["ipv4"] == [f"{daemon.bridge_subnet.network_address + 1}/24"]
    assert f"br-{network[:12]}" in during
    # Each bridge on a /24 of its own, which nothing on the host used before.
    used_before = [ipaddress.IPv4Interface(a).network for link in before.values() for a in link["ipv4"]]
    assert not plain.bridge_subnet.overlaps(insecure.bridge_subnet)
    assert not any(d.bridge_subnet.overlaps(n) for d in ours for n in used_before)

    assert changed_links(before, after, protected) == []
    made = {d.bridge_name for d in ours} | {f"br-{network[:12]}"}
    assert not made & set(after)
    assert rules_of(ours) == [] and not [rule for rule in iptables_rules() if made & set(rule)]
    assert networks_after == networks_before
    if probe is not None:
        assert ipaddress.IPv4Address(probe) in ipv4_network(DOCKER0), probe
    return True


def test_a_daemon_with_bridge_none_deletes_docker0(integration_host: None) -> None:
    """The hazard the harness avoids, made real on this test's own resident daemon only: docker0 is
    deleted while the daemon starts, the comparison above reports it, and the resident's new
    containers fail."""
    for _ in range(ATTEMPTS):
        with resident_daemon() as resident, LinkMonitor() as monitor:
            if resident.own is None:
                pytest.skip("docker0 belongs to a daemon this test did not start: it is never deleted")
            before = links()
            if DOCKER0 not in before:
                continue   # already gone: another process's doing
            start: list[tuple[float, float]] = []
            with contextlib.ExitStack() as stack:
                try:
                    with timed(start):
                        start_daemon(stack, BridgeNoneDockerd(name="hz"))
                except Unavailable as exc:
                    unavailable(str(exc))
                during = links()
            deleted = monitor.deletions(DOCKER0)
            if [t for t in deleted if t < start[0][0]]:
                continue   # gone before this daemon started: another process's doing
            assert [t for t in deleted if within(t, start)], deleted
            assert DOCKER0 not in during
            assert changed_links(before, during, {DOCKER0}) == [f"{DOCKER0}: {before[DOCKER0]} -> gone"]
            failed = resident.own.docker("run", "--rm", IMAGE, "true", check=False)
            assert failed.returncode != 0 and DOCKER0 in failed.stderr, failed.stderr
            return
    pytest.fail(f"docker0 was deleted by another process on this machine during each of {ATTEMPTS} attempts",
                pytrace=False)


def test_a_daemon_that_does_not_start_leaves_no_bridge_and_no_rules(integration_host: None) -> None:
    daemon = Dockerd(name="hf", args=["--no-such-option"])
    with pytest.raises(RuntimeError, match="dockerd exited"):
        daemon.start()
    assert daemon.bridge_subnet is not None   # it had been made
    assert daemon.bridge_name not in links()
    assert rules_of([daemon]) == []
    assert not daemon.dir.exists()
