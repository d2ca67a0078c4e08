"""Each container is inspected exactly once per audit, with a bounded number of inspect requests in
flight: a fake Engine client counts the calls (no daemon needed)."""
from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest

from bench.cli import main
import bench.collect.engine as collect_engine_module
from bench.collect.engine import collect_containers, collect_containers_and_images
from bench.engine_api.session import MAX_CONCURRENT_INSPECTS, EngineOptions, EngineSession
from bench.facts_file import facts_to_json
from helpers import write_check_profile

IMAGE_CHECKS = ["image-healthcheck", "image-no-update-alone", "image-setuid-setgid", "image-copy-not-add",
                "image-no-secrets-in-history", "image-verified-packages", "manual-signed-artifacts",
                "manual-latest-images"]


class FakeClient:
    """The APIClient methods the collectors call, shared by every thread, counting calls."""

    def __init__(self, count: int, running: int | None = None, delay: float = 0.001,
                 barrier: threading.Barrier | None = None):
        self.ids = [f"{n:064x}" for n in range(1, count + 1)]
        self.running = set(self.ids[: count if running is None else running])
        self.delay = delay
        self.barrier = barrier
        self.lock = threading.Lock()
        self.inspected: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.api_version = "1.41"
        self.image_inspects: Counter[str] = Counter()
        self.histories: Counter[str] = Counter()
        self.gone: set[str] = set()

    def _call(self, name: str) -> None:
        with self.lock:
            self.calls[name] += 1

    def version(self, api_version: bool = False) -> dict:
        self._call("version")
        return {"Version": "20.10.24", "ApiVersion": "1.41", "Os": "linux"}

    def info(self) -> dict:
        self._call("info")
        return {"Name": "fake", "DockerRootDir": "/nonexistent/docker", "SecurityOptions": [],
                "Containers": len(self.ids), "ContainersRunning": len(self.running)}

    def containers(self, all: bool = False, trunc: bool = False) -> list:  # noqa: A002
        self._call("containers")
        return [{"Id": cid, "Names": [f"/app-{n}"], "ImageID": self.used_image} for n, cid in enumerate(self.ids)
                if all or cid in self.running]

    def images(self, all: bool = False) -> list:  # noqa: A002
        self._call("images")
        return [{"Id": image_id, "RepoTags": [f"img-{n}:1"]} for n, image_id in enumerate(self.image_ids)]

    image_ids: list = []
    used_image = "sha256:" + "0" * 64

    def _enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def inspect_image(self, image_id: str) -> dict:
        self._call("inspect_image")
        self._enter()
        try:
            with self.lock:
                self.image_inspects[image_id] += 1
            time.sleep(self.delay)
        finally:
            self._leave()
        if image_id in self.gone:
            from bench.engine_api.errors import EngineAPIError
            raise EngineAPIError(404, "Not Found", f"/images/{image_id}/json", "no such image")
        return {"Id": image_id, "Config": {"User": "", "Env": ["PATH=/bin", "DB_PASSWORD=hunter2-in-env"],
                                           "Healthcheck": {"Test": ["CMD", "probe", "--token", "hunter2-in-test"]}}}

    def history(self, image_id: str) -> list:
        self._call("history")
        self._enter()
        try:
            with self.lock:
                self.histories[image_id] += 1
            time.sleep(self.delay)
        finally:
            self._leave()
        return [{"Id": "<missing>", "Created": 1, "CreatedBy": "RUN |1 API_TOKEN=hunter2-in-arg /bin/sh -c make # buildkit",
                 "Size": 10, "Comment": "buildkit.dockerfile.v0"},
                {"Id": "<missing>", "Created": 1, "CreatedBy": "", "Size": 700, "Comment": "Imported from -"}]

    def exec_inspect(self, exec_id: str) -> dict:
        self._call("exec_inspect")
        return {}

    def inspect_container(self, container_id: str) -> dict:
        self._call("inspect_container")
        with self.lock:
            self.inspected[container_id] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            first = sum(self.inspected.values()) <= (self.barrier.parties if self.barrier else 0)
        try:
            if first:
                self.barrier.wait()  # holds the first calls until `parties` of them are in flight
            time.sleep(self.delay)
        finally:
            with self.lock:
                self.in_flight -= 1
        running = container_id in self.running
        return {"Id": container_id, "Name": "/app", "Image": "sha256:" + "0" * 64,
                "State": {"Running": running, "Status": "running" if running else "created", "Pid": 0},
                "Config": {"User": "", "Env": ["SECRET=x"], "Image": "busybox"},
                "HostConfig": {"Privileged": False, "SecurityOpt": None, "RestartPolicy": {"Name": "no"}},
                "Mounts": [], "ExecIDs": None}

    def close(self) -> None:
        pass


@pytest.fixture
def fake(monkeypatch):
    """Every client a session makes is the one fake."""
    holder: dict = {}

    def use(client: FakeClient) -> FakeClient:
        holder["client"] = client
        return client

    monkeypatch.setattr(EngineSession, "_new_client", lambda self, api_version=None: holder["client"])
    return use


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_each_container_is_inspected_once_with_at_most_workers_in_flight(fake, workers):
    # The barrier releases only when `workers` inspects are in flight together: the bound is reached
    # (so inspecting is concurrent) and, with max_in_flight, never exceeded.
    client = fake(FakeClient(120, barrier=threading.Barrier(workers, timeout=10) if workers > 1 else None))
    session = EngineSession(EngineOptions(base_url="unix:///nonexistent/d.sock", workers=workers))
    facts = collect_containers(session)
    assert facts.error is None and len(facts.items) == 120
    assert all(item.error is None for item in facts.items)
    assert set(client.inspected) == set(client.ids) and set(client.inspected.values()) == {1}
    assert client.max_in_flight == workers
    assert client.calls["containers"] == 1


def test_the_default_bound_is_small_and_respected(fake):
    client = fake(FakeClient(200, delay=0.002))
    options = EngineOptions(base_url="unix:///nonexistent/d.sock")
    assert 1 <= options.workers <= MAX_CONCURRENT_INSPECTS <= 8
    collect_containers(EngineSession(options))
    assert 1 <= client.max_in_flight <= options.workers
    assert set(client.inspected.values()) == {1}


def test_progress_counts_every_container_once(fake):
    fake(FakeClient(50))
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def progress(done: int, total: int) -> None:
        with lock:
            seen.append((done, total))

    collect_containers(EngineSession(EngineOptions(base_url="unix:///nonexistent/d.sock", workers=4)), progress)
    assert sorted(done for done, _ in seen) == list(range(1, 51)) and {t for _, t in seen} == {50}


def test_a_failing_worker_is_not_lost(fake):
    fake(FakeClient(40))

    def progress(done: int, total: int) -> None:
        if done == 7:
            raise RuntimeError("progress broke")

    with pytest.raises(RuntimeError, match="progress broke"):
        collect_containers(EngineSession(EngineOptions(base_url="unix:///nonexistent/d.sock", workers=4)), progress)


def test_an_inspect_worker_that_breaks_is_not_lost(fake, monkeypatch):
    fake(FakeClient(40))
    redact = collect_engine_module.redact_inspect

    def break_one(data, in_place=False):
        if data["Id"] == f"{23:064x}":
            raise RuntimeError("redaction broke")
        return redact(data, in_place=in_place)

    monkeypatch.setattr(collect_engine_module, "redact_inspect", break_one)
    with pytest.raises(RuntimeError, match="redaction broke"):
        collect_containers(EngineSession(EngineOptions(base_url="unix:///nonexistent/d.sock", workers=4)))


def test_each_worker_has_its_own_client_closed_when_the_inspects_are_done(monkeypatch):
    shared = FakeClient(30, barrier=threading.Barrier(3, timeout=10))  # all three workers start
    made: list[tuple[str, "OwnClient"]] = []

    class OwnClient:
        """One thread's client: the shared fake's answers, and whether it was closed."""

        def __init__(self):
            self.closed = False
            self.api_version = shared.api_version

        def __getattr__(self, name):
            return getattr(shared, name)

        def close(self):
            self.closed = True

    def new_client(self, api_version=None):
        made.append((threading.current_thread().name, OwnClient()))
        return made[-1][1]

    monkeypatch.setattr(EngineSession, "_new_client", new_client)
    session = EngineSession(EngineOptions(base_url="unix:///nonexistent/d.sock", workers=3))
    facts = collect_containers(session)
    assert len(facts.items) == 30 and set(shared.inspected.values()) == {1}
    callers = [client for thread, client in made if thread == threading.current_thread().name]
    workers = [client for thread, client in made if thread != threading.current_thread().name]
    assert len(callers) == 1 and len(workers) == 3
    assert all(client.closed for client in workers) and not callers[0].closed
    session.close()
    assert callers[0].closed


@pytest.mark.parametrize("scope", [[], ["--all"]])
def test_a_whole_audit_inspects_each_container_once(fake, capsys, scope):
    """The full CIS audit (every check, every fact group) asks the Engine about each container once."""
    client = fake(FakeClient(60, running=45))
    code = main(["--host", "unix:///nonexistent/d.sock", "--format", "json", *scope])
    out, err = capsys.readouterr()
    report = json.loads(out)
    wanted = client.ids if scope else [cid for cid in client.ids if cid in client.running]
    assert code in (0, 1)
    assert sorted(client.inspected) == sorted(wanted)
    assert set(client.inspected.values()) == {1}
    assert client.calls["containers"] == 1 and client.calls["version"] == 1 and client.calls["info"] == 1
    assert client.max_in_flight <= MAX_CONCURRENT_INSPECTS
    names = {item["resource"] for result in report["results"] for item in result["items"]}
    assert {f"app-{n}" for n, cid in enumerate(client.ids) if cid in wanted} <= names
    # No progress line: stderr is not a terminal here.
    assert "\r" not in err and "inspecting" not in err


def test_a_whole_audit_reads_and_stats_each_host_file_once(fake, capsys, monkeypatch):
    """However many collectors and checks look at a file, the host is asked about it once."""
    import os
    import sys

    fake(FakeClient(5))
    counts: Counter = Counter()
    real = {name: getattr(os, name) for name in ("lstat", "open", "readlink")}

    def spy(name):
        def call(path, *args, **kwargs):
            if sys._getframe(1).f_globals.get("__name__") == "bench.hostio":
                counts[(name, str(path))] += 1
            return real[name](path, *args, **kwargs)
        return call

    for name in real:
        monkeypatch.setattr(os, name, spy(name))
    main(["--host", "unix:///nonexistent/d.sock", "--format", "json"])
    capsys.readouterr()
    assert counts, "the audit looked at no host file"
    assert {key: n for key, n in counts.items() if n > 1} == {}


def _images(count: int) -> list[str]:
    return [f"sha256:{n:064x}" for n in range(1000, 1000 + count)]


@pytest.mark.parametrize("workers", [1, 3])
def test_each_image_is_inspected_and_its_history_read_once_in_the_containers_pool(fake, workers):
    """Containers and images share one pool: every object asked about once, the bound never exceeded."""
    client = fake(FakeClient(40, barrier=threading.Barrier(workers, timeout=10) if workers > 1 else None))
    client.image_ids = _images(25)
    session = EngineSession(EngineOptions(base_url="unix:///nonexistent/d.sock", workers=workers, all_containers=True))
    containers, images = collect_containers_and_images(session, containers=True, images=True, details=True)
    assert len(containers.items) == 40 and set(client.inspected.values()) == {1}
    # the listed images, and the containers' image, which the list lacks
    wanted = set(client.image_ids) | {client.used_image}
    assert set(client.image_inspects) == wanted and set(client.image_inspects.values()) == {1}
    assert set(client.histories) == wanted and set(client.histories.values()) == {1}
    assert set(images.details) == wanted
    assert client.max_in_flight == workers
    assert client.calls["images"] == 1 and client.calls["containers"] == 1


def test_image_facts_keep_no_value(fake):
    client = fake(FakeClient(3))
    client.image_ids = _images(2)
    session = EngineSession(EngineOptions(base_url="unix:///nonexistent/d.sock", workers=2))
    _, images = collect_containers_and_images(session, containers=True, images=True, details=True)
    details = images.details[client.image_ids[0]]
    assert details.config.env == {"PATH": True, "DB_PASSWORD": True}
    assert details.config.healthcheck == ["CMD", "<redacted>"]
    assert details.history[0].created_by == "RUN |1 API_TOKEN=<redacted> /bin/sh -c make # buildkit"
    from bench.facts import Facts
    facts = Facts()
    facts.images = images
    assert "hunter2" not in facts_to_json(facts)


def test_an_image_removed_during_the_audit_is_left_out_and_said_so(fake):
    client = fake(FakeClient(2))
    client.image_ids = _images(3)
    client.gone = {client.image_ids[1]}
    session = EngineSession(EngineOptions(base_url="unix:///nonexistent/d.sock", workers=2))
    _, images = collect_containers_and_images(session, containers=True, images=True, details=True)
    assert client.image_ids[1] not in images.details
    assert [i["Id"] for i in images.items] == [client.image_ids[0], client.image_ids[2]]
    assert images.notes == [f"image {client.image_ids[1][7:19]} was removed between listing and inspection; left out"]


def test_an_audit_asks_for_image_config_and_history_only_when_a_check_needs_them(fake, capsys, tmp_path):
    client = fake(FakeClient(10, running=10))
    client.image_ids = _images(6)
    main(["--host", "unix:///nonexistent/d.sock", "--format", "json"])        # CIS 1.11.0: no image history
    capsys.readouterr()
    assert client.calls["images"] == 1 and client.calls["inspect_image"] == 0 and client.calls["history"] == 0
    profile = write_check_profile(tmp_path / "images.yaml", IMAGE_CHECKS)
    code = main(["--host", "unix:///nonexistent/d.sock", "--format", "json", "--profile", str(profile)])
    report = json.loads(capsys.readouterr()[0])
    assert code in (0, 1)
    wanted = set(client.image_ids) | {client.used_image}
    assert set(client.image_inspects) == wanted and set(client.image_inspects.values()) == {1}
    assert set(client.histories) == wanted and set(client.histories.values()) == {1}
    assert client.calls["containers"] == 2 and client.calls["images"] == 2   # once per audit
    by_check = {r["checks"][0]: r for r in report["results"]}
    assert by_check["image-no-secrets-in-history"]["status"] == "FAIL"
    assert "hunter2" not in json.dumps(report)
