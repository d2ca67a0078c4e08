"""The swarm this node is in, read-only: what a manager lists (nodes, overlay networks, secrets,
services), where the node listens for the swarm and which interfaces carry its addresses.

`docker info` Swarm (state, role, the cluster's spec and root CA) is in the engine facts already and
is not asked again. Never asked: GET /swarm (it answers with the join tokens), /swarm/unlockkey, or
anything that changes the swarm. Secrets come without data (the API never returns it), and labels,
secrets and service environments keep their names only: their values are the owner's business.
"""
from __future__ import annotations

import contextlib
import ipaddress
import json
import posixpath
from typing import Any, Callable, Optional

from bench.daemon.view import build_view
from bench.engine_api.errors import describe_api_error
from bench.engine_api.session import EngineSession
from bench.facts import Facts, SwarmFacts
from bench.hostio import Host
from bench.swarm_values import canonical_ip, is_wildcard, read_certificate, swarm_addresses

# dockerd keeps the addresses given to `swarm init` / `swarm join` here, under its data root
# (moby daemon/cluster: stateFile in the "swarm" directory; nodeStartConfig's exported fields).
STATE_FILE = "docker-state.json"
NODE_CERTIFICATE = "swarm-node.crt"
# Its fields that say where the node listens and sends; nothing else is kept.
STATE_KEYS = ("ListenAddr", "AdvertiseAddr", "DataPathAddr", "LocalAddr", "RemoteAddr", "DataPathPort",
              "JoinInProgress")


def collect_swarm(session: EngineSession, host: Host, facts: Facts, remote: Optional[str]) -> SwarmFacts:
    swarm = SwarmFacts(error=None)
    info = facts.engine.info.get("Swarm") if not facts.engine.unavailable() else None
    if not isinstance(info, dict):
        swarm.manager_only = "docker info reports no swarm"
        return swarm
    state = str(info.get("LocalNodeState") or "")
    if state != "active":
        swarm.manager_only = f"swarm mode is {state or 'not reported'} on this node"
        return swarm
    if info.get("ControlAvailable") is True:
        _manager_lists(session, swarm)
    else:
        swarm.manager_only = "this node is a worker: only managers list the swarm's nodes, networks and secrets"
        # A worker lists the overlay networks its own tasks use: a partial view, still evidence.
        _listed(swarm, "networks", lambda: _overlays(session.client().networks()))
    if remote:
        swarm.state_error = swarm.interfaces_error = swarm.node_certificate_error = remote
        return swarm
    _state_file(host, facts, swarm)
    _node_certificate(host, facts, swarm)
    _interfaces(host, facts, swarm, info)
    return swarm


def _listed(swarm: SwarmFacts, name: str, fetch: Callable[[], list[dict[str, Any]]]) -> None:
    try:
        setattr(swarm, name, fetch())
    except Exception as exc:  # the SDK raises many types: requests, docker.errors, OSError
        setattr(swarm, f"{name}_error", describe_api_error(exc))


def _manager_lists(session: EngineSession, swarm: SwarmFacts) -> None:
    client = session.client()
    _listed(swarm, "nodes", lambda: [_node(n) for n in client.nodes() or []])
    _listed(swarm, "networks", lambda: _overlays(client.networks()))
    _listed(swarm, "secrets", lambda: [_secret(s) for s in client.secrets() or []])
    _listed(swarm, "services", lambda: [_service(s) for s in client.services() or []])


def _node(node: dict[str, Any]) -> dict[str, Any]:
    spec, status = node.get("Spec") or {}, node.get("Status") or {}
    found = {"ID": node.get("ID"), "Hostname": (node.get("Description") or {}).get("Hostname"),
             "Role": spec.get("Role"), "Availability": spec.get("Availability"), "State": status.get("State"),
             "Addr": status.get("Addr")}
    manager = node.get("ManagerStatus")
    if isinstance(manager, dict):
        found["ManagerStatus"] = {k: manager.get(k) for k in ("Leader", "Reachability", "Addr") if k in manager}
    return found


def _overlays(networks: Any) -> list[dict[str, Any]]:
    keep = ("Id", "Name", "Driver", "Scope", "Ingress", "Internal", "Attachable", "Options")
    return [{k: n.get(k) for k in keep if k in n} for n in networks or []
            if isinstance(n, dict) and n.get("Driver") == "overlay"]


def _secret(secret: dict[str, Any]) -> dict[str, Any]:
    spec = secret.get("Spec") or {}
    return {"ID": secret.get("ID"), "Name": spec.get("Name"), "CreatedAt": secret.get("CreatedAt"),
            "UpdatedAt": secret.get("UpdatedAt"), "Driver": (spec.get("Driver") or {}).get("Name"),
            "Labels": sorted(spec.get("Labels") or {})}


def _service(service: dict[str, Any]) -> dict[str, Any]:
    spec = service.get("Spec") or {}
    container = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {})
    return {"Name": spec.get("Name"),
            "Secrets": sorted(str(s.get("SecretName") or s.get("SecretID") or "?")
                              for s in container.get("Secrets") or [] if isinstance(s, dict)),
            "Env": [str(e).partition("=")[0] for e in container.get("Env") or []]}


def _swarm_file(facts: Facts, *parts: str) -> tuple[Optional[str], str]:
    """A file dockerd keeps under <data-root>/swarm, as the host sees it; else None and why not."""
    view = build_view(facts)
    root, how = view.data_root()
    if root is None:
        return None, f"the daemon's data root is unknown: {how}"
    return view.resolve(posixpath.join(root, "swarm", *parts)), ""


def _state_file(host: Host, facts: Facts, swarm: SwarmFacts) -> None:
    path, why = _swarm_file(facts, STATE_FILE)
    if path is None:
        swarm.state_error = why
        return
    swarm.state_path = path
    try:
        text = host.read_text(path)
    except OSError as exc:
        swarm.state_error = f"cannot read {path}: {exc.strerror or exc}"
        return
    try:
        data = json.loads(text)
    except ValueError as exc:
        swarm.state_error = f"{path} is not JSON: {exc}"
        return
    if not isinstance(data, dict):
        swarm.state_error = f"{path} does not hold a JSON object"
        return
    swarm.state = {k: data[k] for k in STATE_KEYS if k in data}


def _node_certificate(host: Host, facts: Facts, swarm: SwarmFacts) -> None:
    """The validity of the node's own certificate (public: the key beside it is never read)."""
    path, why = _swarm_file(facts, "certificates", NODE_CERTIFICATE)
    if path is None:
        swarm.node_certificate_error = why
        return
    try:
        certificate = read_certificate(host.read_text(path))
    except OSError as exc:
        swarm.node_certificate_error = f"cannot read {path}: {exc.strerror or exc}"
        return
    except ValueError as exc:
        swarm.node_certificate_error = f"{path}: {exc}"
        return
    swarm.node_certificate = {"subject": certificate.subject, "not_before": certificate.not_before.isoformat(),
                              "not_after": certificate.not_after.isoformat()}


def _interfaces(host: Host, facts: Facts, swarm: SwarmFacts, info: dict[str, Any]) -> None:
    """Which interface holds each swarm address, as the daemon's network namespace has them. The
    auditor can only list its own namespace's interfaces: where that is not the daemon's, nothing
    is recorded."""
    daemon = facts.daemon
    if daemon.unavailable() or not daemon.pid:
        swarm.interfaces_error = f"the daemon was not examined: {daemon.unavailable() or 'no process'}"
        return
    if not host.is_local_root:
        swarm.interfaces_error = "auditing a host root mounted elsewhere: its interfaces cannot be listed from here"
        return
    try:
        same = host.proc_link(f"/proc/{daemon.pid}/ns/net") == host.proc_link("/proc/self/ns/net")
    except OSError as exc:
        swarm.interfaces_error = f"cannot read the daemon's network namespace: {exc.strerror or exc}"
        return
    if not same:
        swarm.interfaces_error = "the daemon runs in another network namespace than the auditor"
        return
    import psutil

    held: dict[str, str] = {}
    loopback: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = []
    for name, addresses in psutil.net_if_addrs().items():
        for address in addresses:
            ip = canonical_ip(str(address.address))
            if ip is None:   # a link-layer address
                continue
            held[ip] = name
            if ipaddress.ip_address(ip).is_loopback and address.netmask:
                with contextlib.suppress(ValueError):
                    loopback.append((ipaddress.ip_network(f"{ip}/{address.netmask}", strict=False), name))
    swarm.interfaces = {}
    for address in swarm_addresses(info, swarm.state):
        ip = canonical_ip(address)
        if ip is None or is_wildcard(ip):
            continue
        if ip in held:
            swarm.interfaces[ip] = held[ip]
            continue
        # The loopback interface holds its whole network (the kernel's local route 127.0.0.0/8):
        # 127.20.1.2 is bound on lo though only 127.0.0.1 is listed.
        found = next((name for network, name in loopback if ipaddress.ip_address(ip) in network), None)
        if found:
            swarm.interfaces[ip] = found
