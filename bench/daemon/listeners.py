"""Where the daemon serves its API: every socket its process listens on, as the kernel lists them,
told apart from the sockets dockerd keeps for itself; and, where the process could not be looked
at, the addresses its configuration declares."""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Iterable, Optional

from bench.facts import Listener

# Sockets dockerd opens for itself, not for API clients: libnetwork's resolver and plugin sockets,
# the metrics socket, swarm's control socket, containerd's and plugins' sockets under the exec root.
INTERNAL_SOCKET_NAMES = ("metrics.sock", "control.sock", "containerd.sock", "containerd.sock.ttrpc",
                         "containerd-debug.sock")
SWARM_PORTS = (2377, 7946)   # cluster management and gossip: mutual TLS and memberlist, not the API


@dataclass(frozen=True)
class ApiListener:
    kind: str          # tcp | unix
    address: str       # "0.0.0.0:2375", "/var/run/docker.sock"
    how: str           # "observed" (the kernel lists it) or "declared" (the configuration says so)


@dataclass
class Listeners:
    api: list[ApiListener] = field(default_factory=list)
    observed: bool = False            # the process's own sockets were seen
    notes: list[str] = field(default_factory=list)
    unknown: str = ""                 # neither seen nor declared: where it listens cannot be told

    @property
    def tcp(self) -> list[ApiListener]:
        return [listener for listener in self.api if listener.kind == "tcp"]

    @property
    def unix(self) -> list[ApiListener]:
        return [listener for listener in self.api if listener.kind == "unix"]


def _under(path: str, roots: list[str]) -> bool:
    return any(root and (path == root or path.startswith(root.rstrip("/") + "/")) for root in roots)


def _port(address: str) -> Optional[int]:
    try:
        return int(address.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def api_sockets(observed: list[Listener], internal_roots: list[str], metrics_addr: str,
                swarm_active: bool, swarm_ports: Iterable[int] = SWARM_PORTS) -> tuple[list[ApiListener], list[str]]:
    """The observed sockets that serve the API, and what was set aside (for the details). In swarm
    mode `swarm_ports` are the swarm's: the management port (2377, or that of --listen-addr) and
    gossip's 7946."""
    swarm_ports = set(swarm_ports)
    api, aside = [], []
    metrics_port = _port(metrics_addr) if metrics_addr else None
    for listener in observed:
        if listener.kind == "unix":
            name = posixpath.basename(listener.address)
            if listener.address.startswith("@") or name in INTERNAL_SOCKET_NAMES or "/libnetwork/" in listener.address \
                    or _under(listener.address, internal_roots):
                aside.append(f"{listener.address} (dockerd's own)")
                continue
        else:
            port = _port(listener.address)
            if swarm_active and port in swarm_ports:
                aside.append(f"{listener.address} (swarm)")
                continue
            if metrics_port is not None and port == metrics_port:
                aside.append(f"{listener.address} (metrics-addr)")
                continue
        api.append(ApiListener(listener.kind, listener.address, "observed"))
    return api, aside


def declared_sockets(addresses: list[str], socket_unit: list[str]) -> list[ApiListener]:
    """ApiListeners from dockerd's addresses (tcp://, unix://, fd://: a socket unit's ListenStream)."""
    found = []
    for address in addresses:
        scheme, _, rest = address.partition("://")
        if scheme == "unix":
            found.append(ApiListener("unix", rest, "declared"))
        elif scheme == "tcp":
            found.append(ApiListener("tcp", rest, "declared"))
        elif scheme == "fd":
            for stream in socket_unit:
                kind = "unix" if stream.startswith("/") else "tcp"
                found.append(ApiListener(kind, stream if kind == "unix" else _tcp_stream(stream), "declared"))
    return found


def _tcp_stream(stream: str) -> str:
    """A ListenStream= that is not a path: a port ("2375": every address), or address:port."""
    return f"[::]:{stream}" if stream.isdigit() else stream


def listen_streams(unit_text: Optional[str]) -> list[str]:
    """ListenStream= values of a systemd socket unit (an empty one resets the list, as systemd does)."""
    found: list[str] = []
    section = ""
    for line in (unit_text or "").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
            continue
        key, eq, value = line.partition("=")
        if eq and section == "[Socket]" and key.strip() == "ListenStream":
            value = value.strip()
            found = [] if not value else found + [value]
    return found
