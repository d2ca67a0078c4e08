"""Collect the facts the selected checks need, each of them once."""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from bench import __version__
from bench.collect.engine import EngineOptions, EngineSession, collect_containers, collect_engine, collect_images
from bench.daemon_config import config_of
from bench.facts import FACT_GROUPS, Facts
from bench.hostio import Host

# What a fact group needs collected before it: the files of a daemon depend on its configuration,
# which depends on finding the daemon behind the API endpoint.
_PREREQUISITES = {
    "daemon": ("engine",),
    "files": ("daemon", "engine"),
    # Container checks read the daemon's defaults where they can (no-new-privileges for a stopped
    # container, default-ulimits that dockerd copies into each container) without requiring them,
    # so that a remote engine still gets verdicts: collect the daemon with the containers, or
    # `--check 5.25` would judge differently from a full audit.
    "containers": ("engine", "daemon"),
    "images": ("engine",),
    "processes": ("containers",),
    "execs": ("containers",),
    "mounts": ("daemon",),
}
HOST_GROUPS = ("host", "daemon", "files", "mounts", "audit", "docker_group", "processes")


@dataclass
class CollectOptions:
    needs: Iterable[str] = FACT_GROUPS
    engine: EngineOptions = field(default_factory=EngineOptions)
    extra_paths: list[str] = field(default_factory=list)
    progress: Optional[Callable[[str, int, int], None]] = None


def expand_needs(needs: Iterable[str]) -> set[str]:
    # The host's name and the engine's version head every report.
    wanted = set(needs) | {"host", "engine"}
    pending = list(wanted)
    while pending:
        for before in _PREREQUISITES.get(pending.pop(), ()):
            if before not in wanted:
                wanted.add(before)
                pending.append(before)
    return wanted


def collect_facts(host: Host, options: CollectOptions) -> Facts:
    from bench.collect import system
    from bench.collect.daemon import find_daemon
    from bench.collect.files import collect_files

    needs = expand_needs(options.needs)
    facts = Facts(tool_version=__version__,
                  collected_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    session = EngineSession(options.engine, host.environ)
    remote = None if session.local else (f"the Docker engine at {session.endpoint} is not on this host; "
                                         "host files and processes cannot be seen from here")

    def host_side(group: str, collect: Callable[[], object]) -> None:
        if group not in needs:
            return
        if remote:
            setattr(facts, group, type(getattr(facts, group))(error=None, skipped=remote))
        else:
            setattr(facts, group, collect())

    host_side("host", lambda: system.collect_host(host))
    if remote and "host" in needs:
        facts.host.hostname = host.hostname()
    if "engine" in needs:
        facts.engine = collect_engine(session)
    data_root = facts.engine.info.get("DockerRootDir") if facts.engine.info else None
    host_side("daemon", lambda: find_daemon(host, session.socket_path, data_root))
    if "files" in needs:
        config = None if facts.daemon.unavailable() else config_of(facts)
        host_side("files", lambda: collect_files(host, facts.daemon, config, facts.engine, options.extra_paths))
    if "containers" in needs:
        if facts.engine.error:
            facts.containers.error = facts.engine.error
        else:
            progress = options.progress
            facts.containers = collect_containers(
                session, None if progress is None else (lambda done, total: progress("inspect", done, total)))
    if "images" in needs:
        if facts.engine.error:
            facts.images.error = facts.engine.error
        else:
            facts.images = collect_images(session)
    host_side("mounts", lambda: system.collect_mounts(host, facts.daemon.pid))
    host_side("audit", lambda: system.collect_audit(host))
    group = "docker"
    if not facts.daemon.unavailable() and facts.daemon.pid is not None:
        group = str(config_of(facts).value("group") or "docker")
    host_side("docker_group", lambda: system.collect_docker_group(host, group))
    if "processes" in needs:
        if facts.containers.unavailable():
            facts.processes.error = f"containers unknown: {facts.containers.unavailable()}"
        else:
            host_side("processes", lambda: system.collect_container_processes(
                host, {c.id: int((c.inspect.get("State") or {}).get("Pid") or 0) for c in facts.containers.items}))
    if "execs" in needs:
        from bench.collect.execs import collect_execs

        if facts.containers.unavailable():
            facts.execs.error = f"containers unknown: {facts.containers.unavailable()}"
        else:
            facts.execs = collect_execs(host, session, facts.containers, local=not remote)
    return facts
