"""What the live fault tests share: the daemon most of them audit, the CLI run as its own process,
and the recommendations a fault must turn into ERROR.

The unit-level halves of these cases (no daemon needed) are in tests/test_faults.py,
tests/test_api_faults.py, tests/test_facts.py, tests/test_yaml_checks.py, tests/test_cli.py,
tests/test_collect_host.py, tests/test_reporters.py, tests/test_redaction.py and
tests/test_properties.py.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from dockerd import Dockerd, Unavailable
from helpers import run_bench, without_docker_env
from integration_env import IMAGE, start_daemon, unavailable

# Recommendations answered from the Engine API alone.
API_IDS = ("1.5", "2.5", "4.1", "4.2", "5.4", "5.10", "6.4", "6.5")
# Recommendations judged from the daemon's effective configuration (flags + daemon.json).
CONFIG_IDS = ("2.1", "2.2", "2.3", "2.4", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11", "2.12")
# Of those, the settings the running daemon reports (docker info, its default bridge): judged as it
# runs even when daemon.json cannot be read, and never PASS then; and those only the files say.
REPORTED_IDS = ("2.1", "2.4", "2.8", "2.11", "2.12")
FILE_ONLY_IDS = ("2.2", "2.3", "2.7", "2.9", "2.10")


def clean_env(**extra: str) -> dict[str, str]:
    env = without_docker_env()
    env.pop("NO_COLOR", None)
    # The interpreter's own .pyc caching is not the audit writing: keep it out of the picture.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


@dataclass
class Run:
    code: int
    out: bytes
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out.decode("utf-8")  # strict: the report is UTF-8, lone surrogates included

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)

    def results(self) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in self.json()["results"]}


def cli(*args: str, env: Optional[dict[str, str]] = None, **kwargs: Any) -> Run:
    """`python -m bench ARGS` (run_bench's options), output as bytes, timed."""
    started = time.monotonic()
    raw = run_bench(list(args), env=env if env is not None else clean_env(), text=False, **kwargs)
    return Run(raw.returncode, raw.stdout, raw.stderr.decode("utf-8", "replace"), time.monotonic() - started)


def assert_one_clean_stderr_line(run: Run, *fragments: str) -> None:
    assert run.err.count("\n") == 1 and "Traceback" not in run.err, run.err
    for fragment in fragments:
        assert fragment in run.err, run.err


@dataclass
class Live:
    daemon: Dockerd
    secrets: dict[str, str] = field(default_factory=dict)   # what -> the secret value
    names: list[str] = field(default_factory=list)          # names that must stay visible

    @property
    def host(self) -> str:
        return self.daemon.host


def start_with_busybox(stack: contextlib.ExitStack, daemon: Dockerd) -> Dockerd:
    try:
        start_daemon(stack, daemon)   # stopped by the stack, also when it never started
    except Unavailable as exc:
        unavailable(str(exc))
    # Never leave our daemon stopped with SIGSTOP (a test failing half-way): resume it before stop().
    stack.callback(lambda: daemon.process and daemon.process.poll() is None
                   and os.kill(daemon.process.pid, signal.SIGCONT))
    daemon.import_busybox(IMAGE)
    return daemon
