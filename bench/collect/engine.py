"""What the Engine API says: version, info, the containers (one inspect each) and the images (one
inspect and one history each, when a check needs them)."""
from __future__ import annotations

import fnmatch
import threading
from typing import Any, Callable, Optional, Union

from bench.engine_api.errors import describe_api_error, is_not_found
from bench.engine_api.session import EngineSession
from bench.facts import (ContainerFacts, ContainersFacts, EngineFacts, HistoryEntry, ImageConfig, ImageDetails,
                         ImagesFacts)
from bench.redact import redact_healthcheck, redact_history_line, redact_inspect, value_flags

# An inspect's outcome: the container's facts, or None and why it is left out.
_Inspected = tuple[Optional[ContainerFacts], Optional[str]]


def collect_engine(session: EngineSession) -> EngineFacts:
    facts = EngineFacts(error=None, endpoint=session.endpoint, local=session.local, transport=session.transport)
    try:
        client = session.client()
        facts.version = client.version(api_version=False)
        facts.info = client.info()
        session.api_version = session.api_version or getattr(client, "api_version", None)
    except Exception as exc:  # the SDK raises many types: requests, docker.errors, OSError
        facts.error = describe_api_error(exc)
        return facts
    try:
        # The default bridge as the running daemon made it: icc and the default binding address are
        # in its options, whatever daemon.json says now.
        facts.default_bridge = client.inspect_network("bridge")
    except Exception as exc:
        if is_not_found(exc):
            facts.default_bridge = {}   # a daemon with --bridge=none has no default bridge
        else:
            facts.default_bridge_error = describe_api_error(exc)
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
    containers, _ = collect_containers_and_images(session, containers=True, images=False, progress=progress)
    assert containers is not None
    return containers


def collect_images(session: EngineSession, details: bool = False) -> ImagesFacts:
    """The image list and, with `details`, each image's config and history."""
    _, images = collect_containers_and_images(session, containers=False, images=True, details=details)
    assert images is not None
    return images


def collect_containers_and_images(session: EngineSession, *, containers: bool, images: bool, details: bool = False,
                                  progress: Optional[Callable[[int, int], None]] = None
                                  ) -> tuple[Optional[ContainersFacts], Optional[ImagesFacts]]:
    """List the containers and the images, then send every per-object request through one pool: an
    inspect per selected container and, with `details`, an inspect and a history per image (those
    listed and the selected containers' own). Each object is asked about once, and requests in flight
    never exceed `options.workers`, whatever the mix."""
    options = session.options
    tasks: list[Callable[[], Any]] = []
    container_facts: Optional[ContainersFacts] = None
    wanted: list[tuple[str, str]] = []
    used_images: list[str] = []
    if containers:
        container_facts = ContainersFacts(error=None, scope="all" if options.all_containers else "running")
        try:
            summaries = session.client().containers(all=options.all_containers, trunc=False)
        except Exception as exc:
            container_facts.error = describe_api_error(exc)
            summaries = []
        seen: set[str] = set()
        for summary in summaries:
            name = container_name(summary)
            if summary["Id"] in seen:
                continue
            seen.add(summary["Id"])
            if name_selected(name, options.include, options.exclude):
                wanted.append((summary["Id"], name))
                if summary.get("ImageID"):
                    used_images.append(str(summary["ImageID"]))
            else:
                container_facts.excluded.append(name)
        all_containers = options.all_containers
        tasks += [(lambda cid=cid, name=name: _inspect_one(session, cid, name, all_containers)) for cid, name in wanted]
    image_facts: Optional[ImagesFacts] = None
    image_ids: list[str] = []
    if images:
        image_facts = ImagesFacts(error=None)
        try:
            listed = session.client().images(all=False)
        except Exception as exc:
            image_facts.error = describe_api_error(exc)
            listed = []
        keep = ("Id", "RepoTags", "RepoDigests", "Created", "Size", "Containers", "ParentId")
        image_facts.items = [{k: s.get(k) for k in keep if k in s} for s in listed]
        if details and not image_facts.error:
            image_ids = list(dict.fromkeys([str(i.get("Id")) for i in image_facts.items if i.get("Id")] + used_images))
            tasks += [task for image_id in image_ids
                      for task in ((lambda i=image_id: _inspect_image(session, i)),
                                   (lambda i=image_id: _image_history(session, i)))]

    outcomes = _run_all(session, tasks, progress)
    if container_facts is not None:
        inspected: list[_Inspected] = outcomes[:len(wanted)]
        container_facts.notes.extend(note for _, note in inspected if note)
        container_facts.items = sorted((item for item, _ in inspected if item is not None), key=lambda c: (c.name, c.id))
    if image_facts is not None and details and not image_facts.error:
        _add_image_details(image_facts, image_ids, outcomes[len(wanted):])
    return container_facts, image_facts


def _run_all(session: EngineSession, tasks: list[Callable[[], Any]],
             progress: Optional[Callable[[int, int], None]]) -> list[Any]:
    """The outcome of each task (one API request each), in order. A pool of `workers` threads, each
    with its own client, sends one request at a time: requests in flight never exceed the bound."""
    total = len(tasks)
    workers = max(1, min(int(session.options.workers or 1), total))
    lock = threading.Lock()
    done = 0

    def run(index: int) -> Any:
        nonlocal done
        outcome = tasks[index]()
        if progress is not None:
            with lock:
                done += 1
                count = done
            progress(count, total)
        return outcome

    if workers == 1:
        # The calling thread's client is connected already (over ssh: one ssh process fewer).
        return [run(index) for index in range(total)]
    # Imported only here, as it brings in logging: an audit of one container or none needs neither.
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inspect") as pool:
            futures = [pool.submit(run, index) for index in range(total)]
            try:
                # One wait for them all: a calling thread woken at each request costs the workers
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


_GONE = "gone"


def _inspect_image(session: EngineSession, image_id: str) -> Union[ImageConfig, str, None]:
    """The image's config without values; _GONE when it was removed meanwhile, else why it failed."""
    try:
        data = session.client().inspect_image(image_id)
    except Exception as exc:
        return _GONE if is_not_found(exc) else f"image inspect failed: {describe_api_error(exc)}"
    config = data.get("Config") if isinstance(data, dict) else None
    config = config if isinstance(config, dict) else {}
    return ImageConfig(user=str(config.get("User") or ""), healthcheck=redact_healthcheck(config.get("Healthcheck")),
                       env=value_flags(config.get("Env")), labels=value_flags(config.get("Labels")))


def _image_history(session: EngineSession, image_id: str) -> Union[list[HistoryEntry], str]:
    """The image's history, each line redacted; _GONE when it was removed meanwhile, else why it failed."""
    try:
        lines = session.client().history(image_id)
    except Exception as exc:
        return _GONE if is_not_found(exc) else f"image history failed: {describe_api_error(exc)}"
    if not isinstance(lines, list):
        return "image history failed: the Engine API did not answer with a list"
    entries = []
    for line in lines:
        if not isinstance(line, dict):
            continue
        created = line.get("Created")
        size = line.get("Size")
        entries.append(HistoryEntry(
            created_by=redact_history_line(str(line.get("CreatedBy") or "")),
            created=created if isinstance(created, int) and not isinstance(created, bool) else None,
            size=size if isinstance(size, int) and not isinstance(size, bool) else 0,
            comment=str(line.get("Comment") or "")))
    return entries


def _add_image_details(facts: ImagesFacts, image_ids: list[str], outcomes: list[Any]) -> None:
    facts.details = {}
    gone: set[str] = set()
    for index, image_id in enumerate(image_ids):
        config, history = outcomes[2 * index], outcomes[2 * index + 1]
        if config == _GONE or history == _GONE:
            gone.add(image_id)
            continue
        details = ImageDetails()
        if isinstance(config, ImageConfig):
            details.config = config
        else:
            details.config_error = str(config)
        if isinstance(history, list):
            details.history = history
        else:
            details.history_error = str(history)
        facts.details[image_id] = details
    if gone:
        facts.items = [i for i in facts.items if i.get("Id") not in gone]
        facts.notes.extend(f"image {i.replace('sha256:', '')[:12]} was removed between listing and inspection; "
                           "left out" for i in sorted(gone))
