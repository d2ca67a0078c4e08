"""Which networks a container is on (CIS v1.6.0 and later, 5.30: not the default bridge). The
default bridge is the network dockerd names `bridge` (on docker0, or the interface --bridge names):
every container on it can reach every other, and it has no embedded DNS. A container that joins
another's network namespace (--network container:X) is on X's networks, however long the chain."""
from __future__ import annotations

from bench.check import container_check, errored, failed, find_container, namespace_of, passed

DEFAULT_BRIDGE = "bridge"


def _bridge(facts) -> tuple[str, str]:
    """(the default bridge's network id, its interface), where the engine reported them."""
    bridge = facts.engine.default_bridge if not facts.engine.unavailable() else None
    if not isinstance(bridge, dict):
        return "", ""
    return str(bridge.get("Id") or ""), str((bridge.get("Options") or {}).get("com.docker.network.bridge.name") or "")


@container_check("container-not-default-bridge", title="The container is not on the default bridge network",
                 rationale=("On the default bridge every container can reach every other one's ports, with no "
                            "name resolution and no way to keep groups apart; user-defined networks isolate "
                            "each application's containers from the rest."),
                 references=("https://docs.docker.com/engine/network/drivers/bridge/"
                             "#differences-between-user-defined-bridges-and-the-default-bridge",
                             "https://docs.docker.com/reference/cli/docker/network/create/"))
def container_not_default_bridge(container, facts):
    """Reads the networks the container is attached to (NetworkSettings.Networks: the network named
    `bridge`, or whose NetworkID is the default bridge's, FAILs; only user-defined networks, or none,
    PASS). A container in --network container:X mode is judged by X's networks (through any chain,
    to containers not audited too); host and none mode PASS (not on the bridge: 5.10 of v1.6.0
    judges host). Where the networks were not recorded, HostConfig.NetworkMode decides: default or
    bridge (or unset) FAILs. A chain whose container cannot be found is ERROR."""
    known = facts.containers.items + facts.containers.referenced
    space = namespace_of(container.inspect, "network", known)
    if space.unknown:
        return errored(space.unknown)
    through = f" (through {' -> '.join(space.via)})" if space.via else ""
    source = container.inspect
    if space.via:
        found = find_container(known, space.via[-1])
        source = found.inspect if found is not None else {}
    mode = space.mode
    if mode in ("host", "none"):
        return passed(f"--network {mode}{through}: not on the default bridge")
    bridge_id, interface = _bridge(facts)
    named = f"the default bridge{f' ({interface})' if interface else ''}"
    networks = (source.get("NetworkSettings") or {}).get("Networks")
    if isinstance(networks, dict):
        on_bridge = sorted(name for name, endpoint in networks.items() if name == DEFAULT_BRIDGE or (
            bridge_id and isinstance(endpoint, dict) and endpoint.get("NetworkID") == bridge_id))
        if on_bridge:
            others = sorted(set(networks) - set(on_bridge))
            also = f"; also on {', '.join(others)}" if others else ""
            return failed(f"attached to {named}{through}{also}")
        if networks:
            return passed(f"on {', '.join(sorted(networks))}{through}")
        return passed(f"attached to no network{through}")
    if mode in ("", "default", DEFAULT_BRIDGE):
        return failed(f"NetworkMode={mode or 'unset'}{through}: {named}")
    return passed(f"NetworkMode={mode}{through}")
