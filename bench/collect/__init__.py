"""Collect the facts the selected checks need, each of them once."""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from bench import __version__
from bench.collect.engine import collect_containers_and_images, collect_engine
from bench.daemon import config_of
from bench.engine_api.session import EngineOptions, EngineSession
from bench.facts import ALL_NEEDS, FACETS, FACT_TYPES, ContainersFacts, DaemonFacts, Facts, ImagesFacts, Probe
from bench.hostio import Host

# What a fact group needs collected before it: the files of a daemon depend on its configuration,
# which depends on finding the daemon behind the API endpoint.
_PREREQUISITES = {
    "daemon": ("engine",),
    "files": ("daemon", "engine"),
    # Container checks read the daemon's defaults where they can (no-new-privileges for a stopped
    # container, default-ulimits that dockerd copies into each container) without requiring them,
    # so that a remote engine still gets verdicts: collect the daemon with the containers, or
    # `--check 5.25` would judge differently from a full audit. Likewise what the kernel reports of
    # each container's main process (the uid for 4.1, NoNewPrivs and Seccomp for 5.21 and 5.25).
    "containers": ("engine", "daemon", "processes"),
    "images": ("engine",),
    "processes": ("containers",),
    "execs": ("containers",),
    "mounts": ("daemon",),
    # The swarm's addresses are kept under the daemon's data root, and its sockets are the daemon's.
    "swarm": ("engine", "daemon"),
}


@dataclass
class CollectOptions:
    needs: Iterable[str] = ALL_NEEDS
    engine: EngineOptions = field(default_factory=EngineOptions)
    extra_paths: list[str] = field(default_factory=list)
    progress: Optional[Callable[[str, int, int], None]] = None


def expand_needs(needs: Iterable[str]) -> set[str]:
    # The host's name and the engine's version head every report.
    wanted = set(needs) | {"host", "engine"}
    wanted |= {FACETS[need] for need in wanted if need in FACETS}
    pending = list(wanted)
    while pending:
        for before in _PREREQUISITES.get(pending.pop(), ()):
            if before not in wanted:
                wanted.add(before)
                pending.append(before)
    return wanted


def _guarded(group: str, collect: Callable[[], Probe]) -> Probe:
    """A collector that breaks on something unforeseen loses its own facts, not the audit: the
    checks that need them are ERROR with the reason."""
    try:
        return collect()
    except Exception as exc:
        return FACT_TYPES[group](error=f"collecting {group} facts failed: {type(exc).__name__}: {exc}")


class _EngineObjects:
    """The containers and the images, collected together the first time either is asked for, so
    that their per-object requests share one bounded pool (bench/collect/engine.py). A failure is
    kept and raised to each group that asks."""

    def __init__(self, session: EngineSession, needs: set[str],
                 progress: Optional[Callable[[str, int, int], None]]):
        self.session, self.needs, self.progress = session, needs, progress
        self.result: Optional[tuple[Optional[ContainersFacts], Optional[ImagesFacts]]] = None
        self.failure: Optional[Exception] = None

    def get(self) -> tuple[Optional[ContainersFacts], Optional[ImagesFacts]]:
        if self.failure is not None:
            raise self.failure
        if self.result is None:
            containers, images = "containers" in self.needs, "images" in self.needs
            details = images and "image_details" in self.needs
            stage = "inspect" if not details else "inspect-all"
            report = None if self.progress is None else (lambda done, total: self.progress(stage, done, total))
            try:
                self.result = collect_containers_and_images(self.session, containers=containers, images=images,
                                                            details=details, progress=report)
            except Exception as exc:
                self.failure = exc
                raise
        return self.result

    def containers(self, host: Host, remote: Optional[str], sockets: list[str]) -> ContainersFacts:
        from bench.collect import system
        from bench.collect.related import collect_related

        facts = self.get()[0]
        assert facts is not None
        if not facts.error:
            collect_related(self.session, facts)
            if not remote:
                facts.resolved_paths = system.resolve_sources(host, facts, also=sockets)
                facts.path_ids = system.identify_paths(host, sorted(set(facts.resolved_paths.values())))
        return facts

    def images(self) -> ImagesFacts:
        facts = self.get()[1]
        assert facts is not None
        return facts


def _control_sockets(facts: Facts) -> list[str]:
    """The daemon's sockets, whose paths are resolved with the bind sources (CIS 5.32)."""
    from bench.daemon.view import build_view

    if facts.daemon.unavailable():
        return []
    try:
        return [path for path, _ in build_view(facts).control_sockets()[0]]
    except Exception:  # only a help: the check reads unresolved paths lexically; the containers must not be lost
        return []


def collect_facts(host: Host, options: CollectOptions) -> Facts:
    from bench.collect import system
    from bench.collect.daemon import find_daemon
    from bench.collect.execs import collect_execs
    from bench.collect.files import collect_files
    from bench.collect.swarm import collect_swarm

    needs = expand_needs(options.needs)
    facts = Facts(tool_version=__version__,
                  collected_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    session = EngineSession(options.engine, host.environ)
    remote = None if session.local else (f"the Docker engine at {session.endpoint} is not on this host; "
                                         "host files and processes cannot be seen from here")
    local_tcp: Optional[DaemonFacts] = None

    def gather(group: str, collect: Callable[[], Probe], host_side: bool = False,
               after: Optional[str] = None) -> None:
        """Collect one fact group if it is needed: SKIP host-side groups of a remote engine, and
        ERROR a group whose prerequisite could not be collected."""
        if group not in needs:
            return
        if host_side and remote:
            setattr(facts, group, FACT_TYPES[group](error=None, skipped=remote))
        elif after and getattr(facts, after).error:
            setattr(facts, group, FACT_TYPES[group](error=f"{after} unknown: {getattr(facts, after).error}"))
        else:
            setattr(facts, group, _guarded(group, collect))

    try:
        gather("engine", lambda: collect_engine(session))
        data_root = facts.engine.info.get("DockerRootDir") if facts.engine.info else None
        version = facts.engine.version.get("Version") if facts.engine.version else None
        if remote and session.loopback_address and not facts.engine.error:
            # tcp:// on this machine's loopback: local when a daemon here holds that port (and its data
            # root is the API's); a tunnel to another host is not.
            found = _guarded("daemon", lambda: find_daemon(host, None, data_root, version, session.loopback_address))
            if not found.error:
                remote, local_tcp = None, found
                facts.engine.local = True
        gather("host", lambda: system.collect_host(host), host_side=True)
        if remote and "host" in needs:
            facts.host.hostname = host.hostname()
        gather("daemon", lambda: local_tcp or find_daemon(host, session.socket_path, data_root, version),
               host_side=True)
        gather("files", lambda: collect_files(host, facts, options.extra_paths), host_side=True)
        config = None if facts.daemon.unavailable() else config_of(facts)
        objects = _EngineObjects(session, needs, options.progress)
        gather("containers", lambda: objects.containers(host, remote, _control_sockets(facts)), after="engine")
        gather("images", objects.images, after="engine")
        gather("mounts", lambda: system.collect_mounts(host, facts.daemon.pid), host_side=True)
        gather("audit", lambda: system.collect_audit(host), host_side=True)
        group = str(config.value("group") or "docker") if config is not None and not config.error else "docker"
        gather("docker_group", lambda: system.collect_docker_group(host, group), host_side=True)
        gather("processes", lambda: system.collect_container_processes(host, facts.containers),
               host_side=True, after="containers")
        gather("execs", lambda: collect_execs(host, session, facts.containers, local=not remote), after="containers")
        gather("swarm", lambda: collect_swarm(session, host, facts, remote), after="engine")
    finally:
        session.close()
    return facts
