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
from bench.collect.engine import collect_containers
from bench.engine_api.session import MAX_CONCURRENT_INSPECTS, EngineOptions, EngineSession


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
        return [{"Id": cid, "Names": [f"/app-{n}"]} for n, cid in enumerate(self.ids)
                if all or cid in self.running]

    def images(self, all: bool = False) -> list:  # noqa: A002
        self._call("images")
        return []

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
