"""What the Engine API says: version, info, the containers (one inspect each) and the images."""
from __future__ import annotations

import fnmatch
import threading
from typing import Any, Callable, Optional

from bench.engine_api.errors import describe_api_error, is_not_found
from bench.engine_api.session import EngineSession
from bench.facts import ContainerFacts, ContainersFacts, EngineFacts, ImagesFacts
from bench.redact import redact_inspect

# An inspect's outcome: the container's facts, or None and why it is left out.
_Inspected = tuple[Optional[ContainerFacts], Optional[str]]


def collect_engine(session: EngineSession) -> EngineFacts:
    facts = EngineFacts(error=None, endpoint=session.endpoint, local=session.local)
    try:
        client = session.client()
        facts.version = client.version(api_version=False)
        facts.info = client.info()
        session.api_version = session.api_version or getattr(client, "api_version", None)
    except Exception as exc:  # the SDK raises many types: requests, docker.errors, OSError
        facts.error = describe_api_error(exc)
    return facts


def container_name(summary: dict[str, Any]) -> str:
    names = summary.get("Names") or []
    return (names[0] if names else summary.get("Id", "")[:12]).lstrip("/")


def name_selected(name: str, include: list[str], exclude: list[str]) -> bool:
    """Whether --include / --exclude (shell patterns on the container's name) keep a container."""
    if include and not any(fnmatch.fnmatchcase(name, pattern) for pattern in include):
        return False
    return not any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude)


def collect_containers(session: EngineSession, progress: Optional[Callable[[int, int], None]] = None) -> ContainersFacts:
    """List the containers once and inspect each selected one exactly once, with at most
    `options.workers` inspect requests in flight."""
    options = session.options
    facts = ContainersFacts(error=None, scope="all" if options.all_containers else "running")
    try:
        summaries = session.client().containers(all=options.all_containers, trunc=False)
    except Exception as exc:
        facts.error = describe_api_error(exc)
        return facts
    wanted: list[tuple[str, str]] = []
    seen: set[str] = set()
    for summary in summaries:
        name = container_name(summary)
        if summary["Id"] in seen:
            continue
        seen.add(summary["Id"])
        if name_selected(name, options.include, options.exclude):
            wanted.append((summary["Id"], name))
        else:
            facts.excluded.append(name)

    outcomes = _inspect_all(session, wanted, progress)
    facts.notes.extend(note for _, note in outcomes if note)
    facts.items = sorted((item for item, _ in outcomes if item is not None), key=lambda c: (c.name, c.id))
    return facts


def _inspect_all(session: EngineSession, wanted: list[tuple[str, str]],
                 progress: Optional[Callable[[int, int], None]]) -> list[_Inspected]:
    """The outcome of each inspect, in the order of `wanted`. A pool of `workers` threads, each
    with its own client, sends one request at a time: requests in flight never exceed the bound."""
    all_containers = session.options.all_containers
    total = len(wanted)
    workers = max(1, min(int(session.options.workers or 1), total))
    lock = threading.Lock()
    done = 0

    def inspect(index: int) -> _Inspected:
        nonlocal done
        container_id, name = wanted[index]
        outcome = _inspect_one(session, container_id, name, all_containers)
        if progress is not None:
            with lock:
                done += 1
                count = done
            progress(count, total)
        return outcome

    if workers == 1:
        # The calling thread's client is connected already (over ssh: one ssh process fewer).
        return [inspect(index) for index in range(total)]
    # Imported only here, as it brings in logging: an audit of one container or none needs neither.
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inspect") as pool:
            futures = [pool.submit(inspect, index) for index in range(total)]
            try:
                # One wait for them all: a calling thread woken at each inspect costs the workers
                # the GIL that often.
                wait(futures, return_when=FIRST_EXCEPTION)
                return [future.result() for future in futures]  # a worker's failure is raised here
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    finally:
        session.release_ended()


def _inspect_one(session: EngineSession, container_id: str, name: str, all_containers: bool) -> _Inspected:
    try:
        data = session.client().inspect_container(container_id)
    except Exception as exc:
        if is_not_found(exc):
            return None, f"container {name} was removed between listing and inspection; left out"
        return ContainerFacts(id=container_id, name=name, error=f"inspect failed: {describe_api_error(exc)}"), None
    if not all_containers and not (data.get("State") or {}).get("Running", False):
        return None, f"container {name} stopped between listing and inspection; left out"
    # `data` was decoded from this response alone: redacting it in place saves a deep copy.
    return ContainerFacts(id=container_id, name=name, inspect=redact_inspect(data, in_place=True)), None


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
