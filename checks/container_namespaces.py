"""The namespaces a container shares with the host (CIS 5.9 network, 5.15 PID, 5.16 IPC). A
container started with --network/--pid/--ipc container:X joins X's namespace, so it shares whatever
X has, the host's included, however long the chain: each is judged by where the chain ends."""
from __future__ import annotations

from bench.check import container_check, errored, failed, namespace_of, passed


def _judge(container, facts, kind: str, flag: str):
    known = facts.containers.items + facts.containers.referenced
    space = namespace_of(container.inspect, kind, known)
    if space.unknown:
        return errored(space.unknown)
    through = f" through {' -> '.join(space.via)}" if space.via else ""
    if space.mode == "host":
        return failed(f"shares the host's {kind} namespace{through} ({flag}=host)")
    return passed(f"{flag}={space.mode or 'default'}{through}")


@container_check("container-no-host-network", title="The container does not share the host's network namespace",
                 rationale=("On the host's network stack a container sees and can bind every host "
                            "interface, reach loopback-only services and bypass Docker's network "
                            "isolation."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#network",
                             "https://docs.docker.com/engine/network/drivers/host/",
                             "https://man7.org/linux/man-pages/man7/network_namespaces.7.html"))
def container_no_host_network(container, facts):
    """Reads HostConfig.NetworkMode; `container:X` is followed to X's mode (through any chain, to
    containers not audited themselves too). Ending at `host` FAILs; any other mode PASSes; a chain
    whose container cannot be found is ERROR."""
    return _judge(container, facts, "network", "--network")


@container_check("container-no-host-pid", title="The container does not share the host's process namespace",
                 rationale=("In the host's PID namespace a container sees every host process and, with "
                            "enough privilege, can signal or trace them."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#pid",
                             "https://man7.org/linux/man-pages/man7/pid_namespaces.7.html"))
def container_no_host_pid(container, facts):
    """Reads HostConfig.PidMode; `container:X` is followed to X's mode (through any chain). Ending
    at `host` FAILs; unset or any other mode PASSes; a chain whose container cannot be found is
    ERROR."""
    return _judge(container, facts, "pid", "--pid")


@container_check("container-no-host-ipc", title="The container does not share the host's IPC namespace",
                 rationale=("Sharing the host's IPC namespace gives the container the host's shared "
                            "memory segments, semaphores and message queues, which other processes may "
                            "rely on being private."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#ipc",
                             "https://man7.org/linux/man-pages/man7/ipc_namespaces.7.html"))
def container_no_host_ipc(container, facts):
    """Reads HostConfig.IpcMode; `container:X` is followed to X's mode (through any chain). Ending
    at `host` FAILs; unset, private, shareable or none PASSes; a chain whose container cannot be
    found is ERROR."""
    return _judge(container, facts, "ipc", "--ipc")


# -- the user namespace (5.31 of v1.6.0 and later) --------------------------------------------------------

IDENTITY_UID_MAP = ("0", "0", "4294967295")


def _remapping(facts) -> tuple[str, str]:
    """("remap" | "rootless" | "none" | "", how it is known) for the daemon's user namespaces."""
    if facts.engine.unavailable() or not facts.engine.info:
        return "", f"the daemon's user namespace setting is unknown ({facts.engine.unavailable() or 'no docker info'})"
    options = {str(o).split(",")[0].removeprefix("name=") for o in facts.engine.info.get("SecurityOptions") or []}
    if "rootless" in options:
        return "rootless", "the daemon is rootless"
    if "userns" in options:
        return "remap", "the daemon remaps user namespaces (userns-remap)"
    return "none", "the daemon does not remap user namespaces"


@container_check("container-no-host-userns", title="The container does not use the host's user namespace (--userns=host)",
                 wants=("processes",),
                 rationale=("In the host's user namespace root in the container is root on the host; with "
                            "userns-remap on, --userns=host takes the container out of the remapping that "
                            "would make its root an unprivileged host user."),
                 references=("https://docs.docker.com/engine/security/userns-remap/"
                             "#disable-namespace-remapping-for-a-container",
                             "https://docs.docker.com/reference/cli/docker/container/run/#userns",
                             "https://man7.org/linux/man-pages/man7/user_namespaces.7.html"))
def container_no_host_userns(container, facts):
    """Reads HostConfig.UsernsMode: `host` FAILs (with userns-remap on, the container opts out of the
    remapping; without it nothing changes today, but turning remapping on later would leave this
    container out), except on a rootless daemon, where `host` is the daemon's own user namespace,
    not the host's, and PASSes. Any other value PASSes, the detail saying whether the daemon remaps:
    without remapping every container shares the host's user namespace, which the daemon's own
    check (userns-remap) judges. A running container whose main process the kernel shows with the
    identity uid map (/proc/<pid>/uid_map read from the host) while the daemon remaps FAILs too."""
    mode = str(container.get("HostConfig.UsernsMode", "") or "")
    remap, how = _remapping(facts)
    if mode == "host":
        if remap == "rootless":
            return passed("--userns=host on a rootless daemon: the daemon's own user namespace, not the host's")
        effect = {"remap": "opts out of the daemon's remapping: its root is the host's root",
                  "none": "its root is the host's root (the daemon remaps no container now; this one would "
                          "stay out if it did)"}.get(remap, "its root is the host's root")
        return failed(f"--userns=host: {effect}")
    uid_map = None if facts.processes.unavailable() else facts.processes.uid_maps.get(container.id)
    running = bool(container.get("State.Running", False))
    if remap == "remap" and running and uid_map is not None and tuple(uid_map.split()) == IDENTITY_UID_MAP:
        return failed("the kernel shows its main process in the host's user namespace (identity uid map), "
                      "though the daemon remaps")
    shown = f"UsernsMode={mode}" if mode else "UsernsMode unset"
    note = f"{how}, so every container shares the host's (daemon-userns-remap judges that)" if remap == "none" else how
    return passed(f"{shown} (not --userns=host); {note}")
