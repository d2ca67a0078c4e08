"""The Engine API: version, info, containers (one inspect each) and images."""
from __future__ import annotations

import fnmatch
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from bench.facts import ContainerFacts, ContainersFacts, EngineFacts, ImagesFacts
from bench.redact import redact_inspect

DEFAULT_TIMEOUT = 10.0
# Inspecting is I/O bound on the daemon; a handful of requests in flight saturate a small host's
# dockerd without swamping it.
MAX_CONCURRENT_INSPECTS = 4


@dataclass
class EngineOptions:
    base_url: Optional[str] = None      # None: DOCKER_HOST or the default local socket
    timeout: float = DEFAULT_TIMEOUT
    tls: Any = None                     # docker.tls.TLSConfig, or None
    all_containers: bool = False
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    workers: int = MAX_CONCURRENT_INSPECTS


def describe_api_error(exc: BaseException) -> str:
    """One line that says what went wrong talking to the daemon, without a traceback."""
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, PermissionError) or "permission denied" in lowered:
        return f"permission denied on the Docker API socket ({_first_line(text)})"
    if "no such file" in lowered or "filenotfound" in lowered:
        return f"the Docker API socket does not exist ({_first_line(text)})"
    if "connection refused" in lowered:
        return f"the Docker daemon refused the connection ({_first_line(text)})"
    if "timed out" in lowered or "timeout" in lowered:
        return f"the Docker API did not answer in time ({_first_line(text)})"
    return f"{type(exc).__name__}: {_first_line(text)}"


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:300]


class EngineSession:
    """A connection to one Engine, with a client per worker thread (requests sessions are not
    documented as thread-safe)."""

    def __init__(self, options: EngineOptions, environ: Optional[dict[str, str]] = None):
        self.options = options
        self._local = threading.local()
        self.api_version: Optional[str] = None
        self._env_kwargs: dict[str, Any] = {}
        if options.base_url:
            self.endpoint = options.base_url
        else:
            from docker.utils import kwargs_from_env

            self._env_kwargs = kwargs_from_env(environment=environ)
            self.endpoint = self._env_kwargs.get("base_url") or DEFAULT_ENDPOINT
        if self.endpoint.startswith("/"):
            self.endpoint = "unix://" + self.endpoint

    @property
    def local(self) -> bool:
        return is_local_endpoint(self.endpoint)

    @property
    def socket_path(self) -> Optional[str]:
        if self.endpoint.startswith("unix://"):
            return self.endpoint[len("unix://"):]
        return None

    def client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            import docker

            kwargs: dict[str, Any] = dict(self._env_kwargs)
            kwargs["base_url"] = self.endpoint
            kwargs["timeout"] = self.options.timeout
            if self.options.tls is not None:
                kwargs["tls"] = self.options.tls
            kwargs["version"] = self.api_version or "auto"
            client = docker.APIClient(**kwargs)
            self.api_version = client.api_version
            self._local.client = client
        return client


DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"


def collect_engine(session: EngineSession) -> EngineFacts:
    facts = EngineFacts(error=None, endpoint=session.endpoint, local=session.local)
    try:
        client = session.client()
        facts.version = client.version(api_version=False)
        facts.info = client.info()
    except Exception as exc:  # the SDK raises many types: requests, docker.errors, OSError
        facts.error = describe_api_error(exc)
    return facts


def is_local_endpoint(endpoint: str) -> bool:
    return endpoint.startswith(("unix://", "npipe://"))


def container_name(summary: dict[str, Any]) -> str:
    names = summary.get("Names") or []
    return (names[0] if names else summary.get("Id", "")[:12]).lstrip("/")


def select(name: str, include: list[str], exclude: list[str]) -> bool:
    if include and not any(fnmatch.fnmatchcase(name, pattern) for pattern in include):
        return False
    return not any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude)


def collect_containers(session: EngineSession, progress: Optional[Callable[[int, int], None]] = None) -> ContainersFacts:
    options = session.options
    facts = ContainersFacts(error=None, scope="all" if options.all_containers else "running")
    try:
        summaries = session.client().containers(all=options.all_containers, trunc=False)
    except Exception as exc:
        facts.error = describe_api_error(exc)
        return facts
    wanted = []
    for summary in summaries:
        name = container_name(summary)
        if select(name, options.include, options.exclude):
            wanted.append((summary["Id"], name))
        else:
            facts.excluded.append(name)

    done = 0
    lock = threading.Lock()

    def inspect(entry: tuple[str, str]) -> Optional[ContainerFacts]:
        nonlocal done
        container_id, name = entry
        result = _inspect_one(session, container_id, name, options.all_containers, facts.notes, lock)
        if progress is not None:
            with lock:
                done += 1
                progress(done, len(wanted))
        return result

    workers = max(1, min(options.workers, len(wanted)))
    if workers == 1:
        results = [inspect(entry) for entry in wanted]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inspect") as pool:
            results = list(pool.map(inspect, wanted))
    facts.items = sorted((r for r in results if r is not None), key=lambda c: (c.name, c.id))
    return facts


def _inspect_one(session: EngineSession, container_id: str, name: str, all_containers: bool,
                 notes: list[str], lock: threading.Lock) -> Optional[ContainerFacts]:
    import docker.errors

    try:
        data = session.client().inspect_container(container_id)
    except docker.errors.NotFound:
        with lock:
            notes.append(f"container {name} was removed between listing and inspection; left out")
        return None
    except Exception as exc:
        return ContainerFacts(id=container_id, name=name, error=f"inspect failed: {describe_api_error(exc)}")
    if not all_containers and not (data.get("State") or {}).get("Running", False):
        with lock:
            notes.append(f"container {name} stopped between listing and inspection; left out")
        return None
    return ContainerFacts(id=container_id, name=name, inspect=redact_inspect(data))


def collect_images(session: EngineSession) -> ImagesFacts:
    facts = ImagesFacts(error=None)
    try:
        summaries = session.client().images(all=False)
    except Exception as exc:
        facts.error = describe_api_error(exc)
        return facts
    keep = ("Id", "RepoTags", "RepoDigests", "Created", "Size", "Containers", "ParentId")
    facts.items = [{k: s.get(k) for k in keep if k in s} for s in summaries]
    return facts
