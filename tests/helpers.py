"""Shared test helpers: the recorded hardened host and overlays that turn it into other hosts, the
report schemas, the reference data beside the repository, and the auditor run in-process or as
`python -m bench`."""
from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

import pytest

from bench.facts import Facts
from bench.facts_file import facts_from_data
from running import as_restarted

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
REPO = TESTS.parent
# The reference data every worktree shares: ../shared beside the repository (see shared_data()).
SHARED = REPO.parent / "shared"
HARDENED_FACTS = FIXTURES / "hardened-host.json"
REPORT_SCHEMA = REPO / "bench" / "reporters" / "report-schema.json"
# The repository's own copy of the JUnit schema Jenkins' xUnit plugin validates against;
# test_reporters.py holds it to the reference copy in ../shared/junit.
JUNIT_XSD = FIXTURES / "junit-10.xsd"
DELETE = "__delete__"

# The only escape sequences a text report may hold: the colours the tool writes itself.
OWN_SGR = re.compile(r"\x1b\[(?:3[1-6]|90|0)m")
UNSAFE_IN_TEXT = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def in_ci() -> bool:
    """CI: BENCH_REQUIRE_INTEGRATION=1 (./run-tests sets it as root) or the CI variable CI services set."""
    ci = os.environ.get("CI", "").strip().lower()
    return os.environ.get("BENCH_REQUIRE_INTEGRATION") == "1" or ci not in ("", "0", "false", "no")


def shared_data(relative: str) -> Path:
    """A file of the reference data in ../shared beside the repository. Where it is missing the
    test is skipped, saying so; in CI it fails, so that CI cannot pass without the comparison."""
    path = SHARED / relative
    if path.is_file():
        return path
    reason = f"the shared reference data {relative} is not at {path} (../shared beside the repository)"
    if in_ci():
        pytest.fail(f"{reason}, and CI requires it", pytrace=False)
    pytest.skip(reason)


def hardened_data() -> dict[str, Any]:
    """A compliant host: every automated check passes on it."""
    return json.loads((FIXTURES / "hardened-host.json").read_text())


def deep_merge(base: Any, overlay: Any) -> Any:
    """Dicts merge key by key (DELETE removes a key); anything else replaces."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            if value == DELETE:
                merged.pop(key, None)
            else:
                merged[key] = deep_merge(base.get(key), value)
        return merged
    return copy.deepcopy(overlay)


def apply_case(data: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    """A facts dict changed as a fixture case says (see tests/check_fixtures/README.md)."""
    data = copy.deepcopy(data)
    if "argv" in case:
        data["daemon"]["argv"] = list(case["argv"])
    if "daemon_json" in case:
        current = json.loads(data["daemon"]["config_text"]) if data["daemon"].get("config_text") else {}
        data["daemon"]["config_text"] = json.dumps(deep_merge(current, case["daemon_json"]))
    if "daemon_json_text" in case:
        data["daemon"]["config_text"] = case["daemon_json_text"]
    for path, overlay in (case.get("file") or {}).items():
        files = data["files"]["files"]
        files[path] = deep_merge(files.get(path, {"path": path, "exists": True}), overlay)
    if {"argv", "daemon_json", "daemon_json_text"} & set(case):
        if case.get("running", "restarted") == "restarted":
            data = as_restarted(data)   # the daemon runs with what the case declares
        elif data["daemon"].get("started_at") is not None:
            data["daemon"]["config_mtime"] = data["daemon"]["started_at"] + 3600  # edited since, not applied
    if "facts" in case:
        data = deep_merge(data, case["facts"])
    if "container" in case:
        spec = case["container"]
        name = spec.get("name", "web")
        matches = [c for c in data["containers"]["items"] if c["name"] == name]
        assert matches, f"no container {name!r} in the base facts"
        for key, value in spec.items():
            if key == "inspect":
                matches[0]["inspect"] = deep_merge(matches[0]["inspect"], value)
            elif key != "name":
                matches[0][key] = value
    return data


def make(root: Path, path: str, text: str = "", mode: int = 0o644) -> Path:
    """A file at a host path inside a directory tree that stands in for a host root."""
    full = root / path.lstrip("/")
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text)
    os.chmod(full, mode)
    return full


def facts_of(data: dict[str, Any]) -> Facts:
    return facts_from_data(data)


def write_facts(path: Path, data: dict[str, Any]) -> str:
    """A facts file holding data; its path as the CLI takes it."""
    path.write_text(json.dumps(data))
    return str(path)


def write_case(path: Path, case: dict[str, Any]) -> str:
    """A facts file of the hardened host changed as a fixture case says."""
    return write_facts(path, apply_case(hardened_data(), case))


@functools.lru_cache(maxsize=None)
def report_schema() -> dict[str, Any]:
    return json.loads(REPORT_SCHEMA.read_text())


@functools.lru_cache(maxsize=None)
def junit_schema() -> Any:
    import xmlschema

    return xmlschema.XMLSchema(str(JUNIT_XSD))


def by_id(report: Union[str, bytes, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A JSON report's results (the report, or its text) by recommendation id."""
    data = report if isinstance(report, dict) else json.loads(report)
    return {r["id"]: r for r in data["results"]}


def assert_inert_text(text: str, coloured: bool) -> None:
    """A text report holds no escape sequence but the tool's own colours, and no control, bidi or
    lone surrogate character."""
    residue = OWN_SGR.sub("", text) if coloured else text
    assert "\x1b" not in residue, [line for line in residue.splitlines() if "\x1b" in line][:3]
    assert not UNSAFE_IN_TEXT.search(residue), UNSAFE_IN_TEXT.findall(residue)[:10]


def run_main(args: list[str]) -> tuple[int, str, str]:
    """The CLI in this process: exit status, stdout and stderr."""
    from bench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def without_docker_env(**extra: str) -> dict[str, str]:
    """This process's environment without DOCKER_* (the endpoint is always given), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(extra)
    return env


def run_bench(args: list[str], *, env: Optional[dict[str, str]] = None, cwd: Any = None, timeout: float = 120,
              python: str = sys.executable, prefix: tuple[str, ...] = (), text: bool = True,
              **kwargs: Any) -> subprocess.CompletedProcess:
    """`python -m bench ARGS` as its own process (from the repository unless cwd says otherwise)."""
    return subprocess.run([*prefix, python, "-m", "bench", *args], cwd=cwd or REPO, env=env, capture_output=True,
                          text=text, timeout=timeout, **kwargs)


@contextlib.contextmanager
def unix_server(path: Path, handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[Path]:
    """A unix socket at path whose every connection is handed to handle(connection, stop) in a thread
    of its own; stop is set when the block ends."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(16)
    server.settimeout(0.1)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(conn, stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        thread.join(2)
        server.close()


def write_check_profile(path: Path, check_ids: list[str], profile_id: str = "test-checks") -> Path:
    """A profile (labelled by assessment, as the v1.6.0+ editions are) with one recommendation per
    check, in section 9: for tests that audit with checks no shipped profile maps yet."""
    lines = [f"id: {profile_id}", f"title: {profile_id}", "labels: assessment", 'sections: {"9": Checks under test}',
             "recommendations:"]
    for number, check_id in enumerate(check_ids, start=1):
        lines += [f'  - id: "9.{number}"', f"    title: {check_id}", "    assessment: automated", "    level: 1",
                  f"    checks: [{check_id}]"]
    path.write_text("\n".join(lines) + "\n")
    return path
