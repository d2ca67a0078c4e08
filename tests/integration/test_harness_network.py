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
"""
from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import subprocess
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import pytest

from dockerd import Dockerd, Unavailable, ip_json, iptables_rules, network_lock
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
        try:
            self.bridge_subnet = ipv4_network(DOCKER0)
        except BaseException:
            self.stop()
            raise
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


# -- what is compared ------------------------------------------------------------------------------------

def links() -> dict[str, dict[str, Any]]:
    """Every interface of the host: its index (a deleted and remade interface gets a new one), its
    kind and its IPv4 addresses."""
    return {link["ifname"]: {"index": link["ifindex"], "kind": (link.get("linkinfo") or {}).get("info_kind", ""),
                             "ipv4": sorted(f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])
                                            if a.get("family") == "inet")}
            for link in ip_json("-d", "addr", "show")}


def ipv4_network(name: str) -> ipaddress.IPv4Network:
    (address,) = links()[name]["ipv4"]
    return ipaddress.IPv4Interface(address).network


def changed_links(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]],
                  protected: set[str]) -> list[str]:
    """Interfaces that were there before and are gone or different now. Other test runs on this
    machine start and stop their own daemons and containers meanwhile: their bridges and veth pairs
    may come and go, unless protected (docker0, the resident daemon's bridges)."""
    problems = []
    for name, link in sorted(before.items()):
        if name not in protected and link["kind"] in ("bridge", "veth"):
            continue
        if after.get(name) != link:
            problems.append(f"{name}: {link} -> {after.get(name, 'gone')}")
    return problems


def networks(daemon: Any) -> dict[str, dict[str, Any]]:
    """The daemon's networks as `docker network inspect` shows them, without the containers on them
    (a system daemon's containers come and go)."""
    ids = daemon.docker("network", "ls", "-q", "--no-trunc").stdout.split()
    inspected = json.loads(daemon.docker("network", "inspect", *ids).stdout) if ids else []
    return {n["Id"]: {k: v for k, v in n.items() if k != "Containers"} for n in inspected}


def bridges_of(nets: dict[str, dict[str, Any]]) -> set[str]:
    """The interfaces behind a daemon's bridge networks (docker0, br-<id>, or the name it was given)."""
    return {n.get("Options", {}).get("com.docker.network.bridge.name") or f"br-{n['Id'][:12]}"
            for n in nets.values() if n["Driver"] == "bridge"}


def rules_of(daemons: list[Dockerd]) -> list[list[str]]:
    return [rule for rule in iptables_rules() if any(d.owns_rule(rule[1:]) for d in daemons)]


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


def assert_runs_a_container_on_docker0(daemon: ResidentDockerd) -> None:
    daemon.docker("run", "-d", "--name", "probe", IMAGE, "sleep", "100000")
    try:
        address = daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", "probe").stdout
    finally:
        daemon.docker("rm", "-f", "probe", check=False)
    assert ipaddress.IPv4Address(address.strip()) in ipv4_network(DOCKER0)


# -- the tests ---------------------------------------------------------------------------------------------

def test_throwaway_daemons_leave_docker0_and_the_resident_daemon_alone(integration_host: None) -> None:
    with resident_daemon() as resident:
        before = links()
        assert DOCKER0 in before
        networks_before = {d.host: networks(d) for d in resident.watched}
        protected = {DOCKER0}.union(*map(bridges_of, networks_before.values()))
        with contextlib.ExitStack() as stack:
            try:
                plain = start_daemon(stack, Dockerd(name="hp"))
                plain.import_busybox(IMAGE)
                plain.docker("run", "-d", "--name", "web", "-p", f"127.0.0.1:{free_port()}:8080", IMAGE,
                             "sleep", "100000")
                insecure = build_insecure(stack).daemon   # TLS on tcp, --iptables=false, and more
            except Unavailable as exc:
                unavailable(str(exc))
            ours = [plain, insecure]
            during = links()
            assert changed_links(before, during, protected) == []
            assert {d.host: networks(d) for d in resident.watched} == networks_before
            for daemon in ours:
                assert during[daemon.bridge_name]["ipv4"] == [f"{daemon.bridge_subnet.network_address + 1}/24"]
            # Each bridge on a /24 of its own, which nothing on the host used before.
            used_before = [ipaddress.IPv4Interface(a).network for link in before.values() for a in link["ipv4"]]
            assert not plain.bridge_subnet.overlaps(insecure.bridge_subnet)
            assert not any(d.bridge_subnet.overlaps(n) for d in ours for n in used_before)
            web = plain.docker("inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", "web").stdout
            assert ipaddress.IPv4Address(web.strip()) in plain.bridge_subnet
            assert rules_of([plain]), "the daemon on its own bridge made no iptables rules to clean up"
        after = links()
        assert changed_links(before, after, protected) == []
        assert not {d.bridge_name for d in ours} & set(after)
        assert rules_of(ours) == []
        assert {d.host: networks(d) for d in resident.watched} == networks_before
        if resident.own is not None:
            assert_runs_a_container_on_docker0(resident.own)


def test_a_daemon_with_bridge_none_deletes_docker0(integration_host: None) -> None:
    """The hazard the harness avoids, made real on this test's own resident daemon only: the
    comparison above reports it, and the resident's new containers fail."""
    with resident_daemon() as resident:
        if resident.own is None:
            pytest.skip("docker0 belongs to a daemon this test did not start: it is never deleted")
        before = links()
        assert DOCKER0 in before
        with contextlib.ExitStack() as stack:
            try:
                start_daemon(stack, BridgeNoneDockerd(name="hz"))
            except Unavailable as exc:
                unavailable(str(exc))
            during = links()
        assert DOCKER0 not in during
        assert changed_links(before, during, {DOCKER0}) == [f"{DOCKER0}: {before[DOCKER0]} -> gone"]
        failed = resident.own.docker("run", "--rm", IMAGE, "true", check=False)
        assert failed.returncode != 0 and DOCKER0 in failed.stderr, failed.stderr


def test_a_daemon_that_does_not_start_leaves_no_bridge_and_no_rules(integration_host: None) -> None:
    daemon = Dockerd(name="hf", args=["--no-such-option"])
    with pytest.raises(RuntimeError, match="dockerd exited"):
        daemon.start()
    assert daemon.bridge_subnet is not None   # it had been made
    assert daemon.bridge_name not in links()
    assert rules_of([daemon]) == []
    assert not daemon.dir.exists()
