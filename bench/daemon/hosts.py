"""dockerd's listen addresses (-H/--host, "hosts"), normalised as dockerd normalises them
(moby opts/hosts.go ParseDaemonHost and ParseTCPAddr; since 2025 daemon/pkg/opts/hosts.go)."""
from __future__ import annotations

from bench.daemon.options import ConfigError

DEFAULT_UNIX_SOCKET = "/var/run/docker.sock"
DEFAULT_HTTP_HOST = "localhost"  # opts/hosts_unix.go DefaultHTTPHost
DEFAULT_TCP_PORT = "2375"
DEFAULT_TLS_HOST = f"tcp://{DEFAULT_HTTP_HOST}:2376"  # DefaultTLSHost


def parse_daemon_host(address: str) -> str:
    """The address dockerd listens on for one -H value: `:2375` and `tcp://` mean localhost (Go
    listens on 127.0.0.1 for it), an address without a scheme is TCP, a missing port is 2375
    (even with TLS), `unix://` is the default socket, fd:// is kept as written. ConfigError where
    dockerd refuses the value."""
    address = address.strip()
    proto, sep, rest = address.partition("://")
    if not sep:
        proto, rest = "tcp", address
    if proto == "tcp":
        return "tcp://" + _tcp_address(rest, address)
    if proto in ("unix", "npipe"):
        if "://" in rest:
            raise ConfigError(f"invalid bind address {address!r}: expected {proto}://path")
        return f"{proto}://{rest or (DEFAULT_UNIX_SOCKET if proto == 'unix' else '//./pipe/docker_engine')}"
    if proto == "fd":
        return address
    raise ConfigError(f"invalid bind address {address!r}: unsupported protocol {proto!r}")


def _tcp_address(rest: str, address: str) -> str:
    if not rest:
        return f"{DEFAULT_HTTP_HOST}:{DEFAULT_TCP_PORT}"
    if "://" in rest:
        raise ConfigError(f"invalid bind address {address!r}: expected tcp://host:port")
    netloc, slash, path = rest.partition("/")
    if netloc.startswith("["):
        host, bracket, after = netloc[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ConfigError(f"invalid bind address {address!r}")
        port = after[1:]
    elif netloc.count(":") == 1:
        host, _, port = netloc.partition(":")
    elif ":" not in netloc:
        host, port = netloc, ""
    else:
        host, port = netloc, ""  # a bare IPv6 address: the port is added after it
    host = host or DEFAULT_HTTP_HOST
    port = port or DEFAULT_TCP_PORT
    if not port.isdigit() or int(port) == 0 or int(port) > 65535:
        raise ConfigError(f"invalid bind address {address!r}: invalid port {port!r}")
    shown = f"[{host}]" if ":" in host else host
    # Engines before 29 kept a path after the address; later ones refuse it. It changes nothing
    # about where dockerd listens.
    return f"{shown}:{int(port)}" + (slash + path if path else "")

