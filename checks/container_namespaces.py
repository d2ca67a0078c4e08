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
