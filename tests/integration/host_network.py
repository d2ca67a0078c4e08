"""The host's network as the harness tests see it: its interfaces, a daemon's networks, the iptables
rules a throwaway daemon owns, and when interfaces are deleted (`ip monitor`)."""
from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import subprocess
import threading
import time
from typing import Any, Iterator

from dockerd import Dockerd, ip_json, iptables_rules


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


class LinkMonitor:
    """`ip monitor link` for as long as the block runs: when (time.monotonic()) each interface was
    deleted, to tell a docker0 deleted by a daemon this test started from one deleted by another
    process on this machine (a copy of the harness from before it had bridges of its own)."""

    def __enter__(self) -> "LinkMonitor":
        self.deleted: list[tuple[float, str]] = []
        self.process = subprocess.Popen(["ip", "-o", "monitor", "link"], stdout=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        time.sleep(0.3)   # subscribed before anything happens
        return self

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            deleted = re.match(r"Deleted \d+: ([^:@\s]+)", line)
            if deleted:
                self.deleted.append((time.monotonic(), deleted.group(1)))

    def deletions(self, name: str) -> list[float]:
        return [when for when, deleted in self.deleted if deleted == name]

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.reader.join(5)


@contextlib.contextmanager
def timed(windows: list[tuple[float, float]]) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        windows.append((started, time.monotonic()))


def within(moment: float, windows: list[tuple[float, float]]) -> bool:
    return any(start <= moment <= end for start, end in windows)
