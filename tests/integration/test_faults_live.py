"""Faults and bad input, made real against throwaway dockerds: never a false PASS, never a crash,
nothing written to the host.

One small daemon (no bridge) serves most tests; its directory is 0711 so that the API socket's own
mode (0660 root:docker) decides who may connect, and its daemon.json lives in a 0700 directory so
that a user other than root can neither read nor stat it. Tests that change it (daemon.json
rewritten, replaced by a symlink, a FIFO or a loop; the daemon stopped with SIGSTOP) put it back.
A second daemon carries hostile strings (in its --config-file path, mount sources, labels and
commands); a third is started and stopped to audit a daemon that is not running.

The unit-level halves of these cases (no daemon needed) are in tests/test_faults.py,
tests/test_api_faults.py, tests/test_facts.py, tests/test_yaml_checks.py, tests/test_cli.py,
tests/test_collect_host.py, tests/test_reporters.py, tests/test_redaction.py and
tests/test_properties.py.
"""
from __future__ import annotations

import contextlib
import grp
import hashlib
import importlib.util
import io
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import jsonschema
import pytest
import xmlschema

from dockerd import Dockerd, docker_cli
from integration_env import IMAGE, NOBODY, PYTHON, REPO, unavailable

pytestmark = pytest.mark.integration

SCHEMA = json.loads((REPO / "bench" / "reporters" / "report-schema.json").read_text())
JUNIT_XSD = next(p for p in (Path("/work/shared/junit/junit-10.xsd"), REPO / "tests" / "fixtures" / "junit-10.xsd")
                 if p.exists())
# The only escape sequences a text report may hold: the colours the tool writes itself.
OWN_SGR = re.compile(r"\x1b\[(?:3[1-6]|90|0)m")
UNSAFE_IN_TEXT = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
# Recommendations answered from the Engine API alone.
API_IDS = ("1.5", "2.5", "4.1", "4.2", "5.4", "5.10", "6.4", "6.5")
# Recommendations judged from the daemon's effective configuration (flags + daemon.json).
CONFIG_IDS = ("2.1", "2.2", "2.3", "2.4", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11", "2.12")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "NO_COLOR"))}
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


def cli(*args: str, prefix: tuple[str, ...] = (), python: str = PYTHON, env: Optional[dict[str, str]] = None,
        cwd: Any = None, timeout: float = 120, umask: int = -1) -> Run:
    started = time.monotonic()
    raw = subprocess.run([*prefix, python, "-m", "bench", *args], cwd=cwd or REPO,
                         env=env if env is not None else clean_env(), capture_output=True, timeout=timeout, umask=umask)
    return Run(raw.returncode, raw.stdout, raw.stderr.decode("utf-8", "replace"), time.monotonic() - started)


def assert_one_clean_stderr_line(run: Run, *fragments: str) -> None:
    assert run.err.count("\n") == 1 and "Traceback" not in run.err, run.err
    for fragment in fragments:
        assert fragment in run.err, run.err


# -- the daemons -------------------------------------------------------------------------------------------

@dataclass
class Live:
    daemon: Dockerd
    secrets: dict[str, str] = field(default_factory=dict)   # what -> the secret value
    names: list[str] = field(default_factory=list)          # names that must stay visible

    @property
    def host(self) -> str:
        return self.daemon.host


def _start(stack: contextlib.ExitStack, daemon: Dockerd) -> Dockerd:
    stack.callback(daemon.stop)   # copes with a daemon that never started; removes its directory
    try:
        daemon.start()
    except RuntimeError as exc:
        unavailable(f"dockerd did not start: {exc}")
    # Never leave our daemon stopped with SIGSTOP (a test failing half-way): resume it before stop().
    stack.callback(lambda: daemon.process and daemon.process.poll() is None
                   and os.kill(daemon.process.pid, signal.SIGCONT))
    daemon.import_busybox(IMAGE)
    return daemon


@pytest.fixture(scope="module")
def live(integration_host: None) -> Iterator[Live]:
    with contextlib.ExitStack() as stack:
        daemon = Dockerd(name="f")
        os.chmod(daemon.dir, 0o711)
        private = daemon.dir / "private"
        private.mkdir(mode=0o700)
        daemon.config_file = private / "daemon.json"
        daemon.daemon_json = {"icc": False, "log-level": "info"}
        _start(stack, daemon)
        try:
            gid = grp.getgrnam("docker").gr_gid
        except KeyError:
            gid = 0   # no docker group here: root:root 0660 keeps others out just the same
        os.chown(daemon.socket, 0, gid)
        os.chmod(daemon.socket, 0o660)

        live = Live(daemon)
        live.secrets = {name: f"s3cr3t-{name}-{secrets.token_hex(8)}" for name in
                        ("env", "env2", "cmd", "label", "logopt", "health", "exec")}
        live.names = ["DB_PASSWORD", "API_TOKEN", "com.example.api-token", "tag"]
        s = live.secrets
        daemon.docker("run", "-d", "--name", "plain", IMAGE, "sleep", "100000")
        daemon.docker("run", "-d", "--name", "secret", "-e", f"DB_PASSWORD={s['env']}", "-e", f"API_TOKEN={s['env2']}",
                      "--label", f"com.example.api-token={s['label']}", "--log-opt", f"tag={s['logopt']}",
                      "--health-cmd", f"echo {s['health']}", "--health-interval", "3600s",
                      "--entrypoint", "sh", IMAGE, "-c", f"sleep 100000 # --password={s['cmd']}")
        # An exec session the daemon tracks (its ExecIDs are inspected), started with a secret.
        daemon.docker("exec", "-d", "-e", f"EXEC_TOKEN={s['exec']}", "secret", "sleep", "100000")
        yield live


@contextlib.contextmanager
def config_replaced(live: Live, make: Any) -> Iterator[Path]:
    """Replace the daemon's config file (make(path) puts something there); put it back after."""
    path = live.daemon.config_file
    saved = path.read_bytes()
    path.unlink()
    try:
        make(path)
        yield path
    finally:
        if path.is_symlink() or path.exists():
            path.unlink()
        for extra in path.parent.iterdir():
            if extra.name != path.name:
                extra.unlink()
        path.write_bytes(saved)
        os.chmod(path, 0o644)


# -- 1: as a user who may not use the API socket -----------------------------------------------------------

def _module_root(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin, name
    origin = Path(spec.origin)
    return origin.parent.parent if spec.submodule_search_locations else origin.parent


def _as_nobody(argv: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return subprocess.run(drop + argv, env=env, cwd="/", capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def nobody_python(integration_host: None) -> Iterator[tuple[str, dict[str, str]]]:
    """An interpreter and environment with which uid 65534 can run this auditor.

    The test interpreter itself, when nobody can execute it and read the package; else a system
    python3 of the same version (the compiled psutil and PyYAML must fit it) with the package and
    its dependencies on PYTHONPATH, from where they are or, when nobody cannot read them (a venv
    under /root), from copies in a temporary directory."""
    if not shutil.which("setpriv"):
        unavailable("setpriv (util-linux) is not installed")
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "HOME": "/nonexistent",
            "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"}
    probe = ["-c", "import bench.cli, psutil, yaml, tabulate"]
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    modules = ("bench", "psutil", "yaml", "tabulate")
    tried = []
    copies: Optional[str] = None
    try:
        interpreters = [PYTHON] + [p for p in dict.fromkeys([f"/usr/bin/python{version}", "/usr/bin/python3",
                                                             shutil.which(f"python{version}") or ""]) if p]
        for python in interpreters:
            for env in ({}, {"PYTHONPATH": os.pathsep.join(sorted({str(_module_root(m)) for m in modules}))}, None):
                if env is None:   # copies nobody can read
                    if copies is None:
                        copies = tempfile.mkdtemp(prefix="dcb-nobody-")
                        _copy_modules(Path(copies), modules)
                    env = {"PYTHONPATH": copies}
                check = _as_nobody([python, "-c", f"import sys; assert sys.version_info[:2] == {sys.version_info[:2]}"],
                                   {**base, **env})
                if check.returncode == 0 and _as_nobody([python, *probe], {**base, **env}).returncode == 0:
                    yield python, {**base, **env}
                    return
                tried.append(f"{python} with {env or 'its own path'}: {check.stderr.decode(errors='replace')[-120:]}")
        unavailable("no Python interpreter that uid 65534 can run finds this auditor: " + "; ".join(tried))
    finally:
        if copies:
            shutil.rmtree(copies, ignore_errors=True)


def _copy_modules(target: Path, modules: tuple[str, ...]) -> None:
    os.chmod(target, 0o755)
    ignore = shutil.ignore_patterns("__pycache__")
    for name in modules:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin
        origin = Path(spec.origin)
        if spec.submodule_search_locations:
            shutil.copytree(origin.parent, target / name, ignore=ignore)
        else:
            shutil.copy2(origin, target / origin.name)
    if not (target / "bench" / "_data").is_dir():   # a source checkout: the data sits beside the package
        for data in ("checks", "profiles"):
            shutil.copytree(REPO / data, target / data, ignore=ignore)
    for root, dirs, files in os.walk(target):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)


def test_as_a_user_without_api_access_api_checks_error_and_host_checks_run(live: Live, nobody_python) -> None:
    python, env = nobody_python
    # The precondition, as nobody sees it: the socket is there and refuses them.
    denied = _as_nobody([python, "-c", f"import socket; socket.socket(socket.AF_UNIX).connect({str(live.daemon.socket)!r})"],
                        env)
    assert denied.returncode != 0 and b"PermissionError" in denied.stderr

    run = cli("--host", live.host, "-f", "json", prefix=("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                                                           "--clear-groups"), python=python, env=env, cwd="/")
    assert run.code == 1, run.err
    assert_one_clean_stderr_line(run, "cannot reach the Docker daemon", "permission denied")
    results = run.results()
    for rec_id in API_IDS:
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
        assert "permission denied" in results[rec_id]["details"], results[rec_id]
    # Host checks are still judged.
    assert results["1.2"]["status"] == "PASS"
    assert results["4.5"]["status"] == "FAIL"   # DOCKER_CONTENT_TRUST is not set for this audit
    for rec_id in ("3.1", "3.2", "3.3", "3.4", "3.19", "3.20"):
        assert results[rec_id]["status"] != "ERROR", results[rec_id]
    # The daemon's daemon.json is in a directory nobody may not enter: what depends on it is ERROR,
    # naming the file, never PASS.
    config = str(live.daemon.config_file)
    for rec_id in CONFIG_IDS:
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
        assert f"{config}: permission denied" in results[rec_id]["details"], results[rec_id]
    for rec_id in ("3.17", "3.18"):   # owner and mode of that daemon.json: cannot even be stat'ed
        assert results[rec_id]["status"] == "ERROR" and "permission denied" in results[rec_id]["details"], results[rec_id]
    for rec_id in ("3.15", "3.16"):   # where the socket is depends on that daemon.json
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
    # Whatever could not be read is never a PASS (nor a SKIP: "not applicable" would be a guess too).
    for result in results.values():
        if "permission denied" in json.dumps(result).lower():
            assert result["status"] not in ("PASS", "SKIP"), result


def test_a_daemon_that_is_not_running(integration_host: None) -> None:
    """A daemon that was started and stopped: its socket is gone and no process serves it."""
    with contextlib.ExitStack() as stack:
        daemon = Dockerd(name="g")
        stack.callback(daemon.stop)
        try:
            daemon.start()
        except RuntimeError as exc:
            unavailable(f"dockerd did not start: {exc}")
        host = daemon.host
        daemon.stop()
    assert not daemon.socket.exists()
    run = cli("--host", host, "-f", "json")
    assert run.code == 1
    assert_one_clean_stderr_line(run, "cannot reach the Docker daemon", "does not exist")
    results = run.results()
    for rec_id in API_IDS:
        assert results[rec_id]["status"] == "ERROR" and "does not exist" in results[rec_id]["details"], results[rec_id]
    for rec_id in CONFIG_IDS:
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
        assert f"no running Docker daemon listens on {daemon.socket}" in results[rec_id]["details"], results[rec_id]
    assert results["1.1"]["status"] == "ERROR"   # where the data root is cannot be known
    assert results["1.2"]["status"] == "PASS"
    for rec_id in ("3.1", "3.2", "3.19", "3.20"):
        assert results[rec_id]["status"] != "ERROR", results[rec_id]
    assert not any(r["status"] == "PASS" for r in results.values() if r["id"] in API_IDS + CONFIG_IDS)


# -- 4: a hung API -------------------------------------------------------------------------------------------

def test_a_hung_daemon_times_out_per_call_and_the_audit_finishes(live: Live) -> None:
    """dockerd stopped with SIGSTOP: the kernel still accepts connections on its socket, nobody
    answers. Each API call gives up after --timeout; the audit finishes."""
    pid = live.daemon.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        run = cli("--host", live.host, "-f", "json", "--timeout", "1", "--all", timeout=60)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert run.seconds < 20, run.seconds
    assert run.code == 1
    assert_one_clean_stderr_line(run, "did not answer in time")
    results = run.results()
    for rec_id in API_IDS:
        assert results[rec_id]["status"] == "ERROR" and "did not answer in time" in results[rec_id]["details"]
    assert results["2.1"]["status"] == "PASS"   # the daemon's configuration is read from the host
    assert results["1.2"]["status"] == "PASS"
    live.daemon.docker("version")   # and it answers again


# -- 2: malformed daemon.json ---------------------------------------------------------------------------------

@pytest.mark.parametrize("content,problem", [
    ('{"icc": false,\n  "log-level": "info"', "invalid JSON"),
    ('{"icc": "no", "log-level": "info"}', "'icc' must be true or false"),
    ('{"ICC": false, "log-level": "info"}', "unknown key 'ICC'"),
    ('{"icc": false, "insecure-registries": "10.0.0.1:5000"}', "list of strings"),
], ids=["invalid-json", "wrong-type", "unknown-key", "wrong-type-list"])
def test_malformed_daemon_json(live: Live, content: str, problem: str) -> None:
    """The running daemon was started with a valid file; the file was then broken (an edit that
    takes effect at the next restart). What depends on it is ERROR naming file and problem."""
    with config_replaced(live, lambda path: path.write_text(content)) as path:
        run = cli("--host", live.host, "-f", "json")
    assert run.code == 1 and run.err == "", run.err   # ERROR counts as fail; the daemon was reachable
    results = run.results()
    for rec_id in CONFIG_IDS:
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
        assert results[rec_id]["details"].startswith(f"{path}: ") and problem in results[rec_id]["details"]
    for rec_id in ("3.9", "3.11", "3.13", "3.15", "3.16"):   # where TLS files and sockets are: unknown
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
    # The rest is judged: the file's owner and mode, the engine, the containers.
    assert results["3.17"]["status"] == "PASS" and results["3.18"]["status"] == "PASS"
    assert results["2.5"]["status"] == "PASS" and results["1.1"]["status"] in ("PASS", "FAIL")
    assert {i["resource"] for i in results["5.4"]["items"]} == {"plain", "secret"}
    assert results["5.4"]["status"] == "PASS"


def test_a_key_only_a_newer_dockerd_knows_leaves_the_configuration_judged(live: Live) -> None:
    """Such a file runs a newer dockerd; the auditor reads what it knows and says what it does not."""
    with config_replaced(live, lambda path: path.write_text(
            '{"icc": false, "log-level": "info", "some-future-option": {"enabled": true}}')) as path:
        run = cli("--host", live.host, "-f", "json")
    results = run.results()
    assert results["2.1"]["status"] == "PASS" and results["2.2"]["status"] == "PASS", (results["2.1"], run.err)
    for rec_id in CONFIG_IDS:
        assert results[rec_id]["status"] != "ERROR", results[rec_id]


# -- 9: symlinks, a FIFO and a loop where daemon.json should be -------------------------------------------------

def test_a_symlinked_daemon_json_is_read_and_judged_through_its_target(live: Live) -> None:
    target = live.daemon.config_file.parent / "real.json"

    def link(path: Path) -> None:
        target.write_text('{"icc": false, "log-level": "info"}')
        os.chmod(target, 0o600)
        path.symlink_to(target)

    with config_replaced(live, link) as path:
        run = cli("--host", live.host, "-f", "json", "--check", "2.1,3.17,3.18")
        os.chmod(target, 0o666)
        loose = cli("--host", live.host, "-f", "json", "--check", "3.18")
    results = run.results()
    assert results["2.1"]["status"] == "PASS" and f"daemon.json {path}" in results["2.1"]["details"]
    # The benchmark means the file the daemon reads: the target's 0600, not the link's own 0777.
    assert results["3.18"]["status"] == "PASS" and "mode 0600" in results["3.18"]["details"]
    for rec_id in ("3.17", "3.18"):
        assert f"symlink to {target}; its target {target} was judged" in results[rec_id]["details"], results[rec_id]
    loose_result = loose.results()["3.18"]
    assert loose_result["status"] == "FAIL" and "mode 0666" in loose_result["details"]


@pytest.mark.parametrize("kind", ["fifo", "loop"])
def test_a_fifo_or_a_symlink_loop_at_daemon_json_neither_hangs_nor_crashes(live: Live, kind: str) -> None:
    def make(path: Path) -> None:
        if kind == "fifo":
            os.mkfifo(path, 0o644)
        else:
            other = path.parent / "loop"
            other.symlink_to(path.name)
            path.symlink_to(other.name)

    with config_replaced(live, make):
        run = cli("--host", live.host, "-f", "json", "--check", "2,3.17,3.18", timeout=60)
    assert run.seconds < 20 and run.code == 1 and run.err == ""
    results = run.results()
    reason = "not a regular file" if kind == "fifo" else "symbolic links"
    for rec_id in CONFIG_IDS:
        assert results[rec_id]["status"] == "ERROR" and reason in results[rec_id]["details"], results[rec_id]
    if kind == "fifo":   # stat'ed, never opened: judged by its owner and mode
        assert results["3.18"]["status"] == "PASS"
    else:
        assert results["3.18"]["status"] == "ERROR" and "symlink loop" in results["3.18"]["details"]


# -- 3: containers that go away between listing and inspection --------------------------------------------------

def test_a_container_removed_or_stopped_between_listing_and_inspection_is_left_out(live: Live, monkeypatch) -> None:
    from bench.cli import main
    from bench.collect.engine import UnixSocketClient

    daemon = live.daemon
    daemon.docker("run", "-d", "--name", "vanishing", IMAGE, "sleep", "100000")
    daemon.docker("run", "-d", "--name", "stopping", IMAGE, "sleep", "100000")
    listed = UnixSocketClient.containers
    calls = []

    def list_then_change(self, *args, **kwargs):
        # Right after the list call returns, before any inspect: one removed, one stopped.
        summaries = listed(self, *args, **kwargs)
        calls.append([s["Names"][0] for s in summaries])
        daemon.docker("rm", "-f", "vanishing")
        daemon.docker("kill", "stopping")
        daemon.docker("wait", "stopping")
        return summaries

    monkeypatch.setattr(UnixSocketClient, "containers", list_then_change)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--host", live.host, "-f", "json"])
    finally:
        daemon.docker("rm", "-f", "vanishing", "stopping", check=False)
    assert code in (0, 1) and err.getvalue() == ""
    assert len(calls) == 1 and {"/vanishing", "/stopping"} <= set(calls[0])
    report = json.loads(out.getvalue())
    assert "container vanishing was removed between listing and inspection; left out" in report["notes"]
    assert "container stopping stopped between listing and inspection; left out" in report["notes"]
    judged = {i["resource"] for r in report["results"] for i in r["items"]}
    assert {"plain", "secret"} <= judged and not {"vanishing", "stopping"} & judged
    by_id = {r["id"]: r for r in report["results"]}
    assert {i["resource"] for i in by_id["5.4"]["items"]} == {"plain", "secret"}
    assert by_id["5.4"]["status"] == "PASS"
    jsonschema.validate(report, SCHEMA)


# -- 11: secrets stay on the host ----------------------------------------------------------------------------------

def test_secrets_never_reach_reports_or_recorded_facts(live: Live, tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text("old")
    os.chmod(facts, 0o644)
    recorded = cli("record", "--host", live.host, "--all", "-o", str(facts), umask=0)
    assert recorded.code == 0, recorded.err
    assert stat.S_IMODE(facts.stat().st_mode) == 0o600   # even over a 0644 file, with umask 0
    outputs = {"facts": facts.read_bytes()}
    for fmt in ("json", "text", "junit"):
        run = cli("--host", live.host, "--all", "-f", fmt, "--wide", *(["--remediation"] if fmt == "text" else []))
        assert run.code in (0, 1), run.err
        outputs[fmt] = run.out
    outputs["replayed"] = cli("--facts", str(facts), "-f", "json").out
    for where, data in outputs.items():
        for what, secret in live.secrets.items():
            assert secret.encode() not in data, f"the {what} secret is in the {where}"
    # The names stay: a reviewer may need to know that DB_PASSWORD is set.
    recorded_facts = json.loads(outputs["facts"])
    inspect = next(c for c in recorded_facts["containers"]["items"] if c["name"] == "secret")["inspect"]
    env_names = [e.split("=", 1)[0] for e in inspect["Config"]["Env"]]
    assert {"DB_PASSWORD", "API_TOKEN"} <= set(env_names)
    assert inspect["Config"]["Labels"] == {"com.example.api-token": "<redacted>"}
    assert inspect["HostConfig"]["LogConfig"]["Config"] == {"tag": "<redacted>"}
    assert inspect["Config"]["Cmd"] == ["-c", "<redacted>"] and inspect["Args"] == ["<redacted>"]
    assert inspect["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "<redacted>"]


# -- 12: output paths --------------------------------------------------------------------------------------------------

def test_output_replaces_planted_links_and_never_writes_through_them(live: Live, tmp_path: Path) -> None:
    """As root: a symlink to a file that matters, a hard link to it, a dangling symlink pointing
    where a file would be created. Each is replaced by the report; nothing is written through."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    before = victim.stat()
    out = tmp_path / "out"
    out.mkdir()
    (out / "sym.json").symlink_to(victim)
    os.link(victim, out / "hard.json")
    (out / "dangling.json").symlink_to(tmp_path / "created-through-link")
    for name in ("sym.json", "hard.json", "dangling.json"):
        run = cli("--host", live.host, "-f", "json", "--check", "2.1", "-o", str(out / name))
        assert run.code == 0, run.err
        written = out / name
        assert not written.is_symlink() and written.stat().st_ino != before.st_ino
        assert json.loads(written.read_text())["results"][0]["id"] == "2.1"
    assert victim.read_text() == "precious\n" and victim.stat().st_mtime_ns == before.st_mtime_ns
    assert victim.stat().st_nlink == 1
    assert not (tmp_path / "created-through-link").exists()
    assert sorted(p.name for p in out.iterdir()) == ["dangling.json", "hard.json", "sym.json"]


# -- 8: read-only --------------------------------------------------------------------------------------------------------

# Every system call that can create, write, rename, remove, or change the mode, owner, times or
# attributes of a file; plus sends on sockets, to see what is asked of the daemon.
TRACED = ("open,openat,openat2,creat,mkdir,mkdirat,mknod,mknodat,rename,renameat,renameat2,unlink,unlinkat,rmdir,"
          "link,linkat,symlink,symlinkat,chmod,fchmod,fchmodat,chown,fchown,lchown,fchownat,utime,utimes,utimensat,"
          "futimesat,truncate,ftruncate,fallocate,setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,"
          "fremovexattr,write,pwrite64,writev,pwritev,pwritev2,sendfile,copy_file_range,sendto,sendmsg")
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
PATH_CALLS = {"mkdir", "mkdirat", "mknod", "mknodat", "unlink", "unlinkat", "rmdir", "chmod", "fchmodat",
              "chown", "lchown", "fchownat", "utime", "utimes", "utimensat", "futimesat", "truncate", "setxattr",
              "lsetxattr", "removexattr", "lremovexattr", "rename", "renameat", "renameat2", "link", "linkat",
              "symlink", "symlinkat"}
FD_CALLS = {"write", "pwrite64", "writev", "pwritev", "pwritev2", "fchmod", "fchown", "ftruncate", "fallocate",
            "fsetxattr", "fremovexattr", "sendfile", "copy_file_range"}
HARMLESS_FDS = re.compile(r"^(pipe:|socket:|UNIX|NETLINK|TCP|UDP|anon_inode:|/dev/null$|/dev/pts/|/dev/tty)")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_FD = re.compile(r"^(?:\d+|AT_FDCWD)<(.*?)>(?:,|\)|$)")


def _unescape(text: str) -> str:
    """strace's C-style string escapes back to the path's bytes, decoded as Python does."""
    raw = re.sub(rb"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)",
                 lambda m: (bytes([int(m.group(1)[1:], 16)]) if m.group(1)[:1] == b"x" else
                            bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit() else
                            {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"v": b"\v", b"f": b"\f"}.get(m.group(1), m.group(1))),
                 text.encode("latin-1", "backslashreplace"))
    return os.fsdecode(raw)


def strace_calls(log: Path) -> list[tuple[int, str, str]]:
    """(pid, syscall, arguments and result) per call, with unfinished/resumed halves joined."""
    pending: dict[int, str] = {}
    calls = []
    for line in log.read_text(encoding="latin-1").splitlines():
        pid_text, _, rest = line.partition(" ")
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        rest = rest.strip()
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")]
            continue
        resumed = re.match(r"<\.\.\. (\w+) resumed>(.*)", rest)
        if resumed:
            rest = pending.pop(pid, resumed.group(1) + "(") + resumed.group(2)
        match = re.match(r"(\w+)\((.*)$", rest)
        if match:
            calls.append((pid, match.group(1), match.group(2)))
    return calls


def _fd_path(args: str) -> str:
    match = _FD.match(args)
    return _unescape(match.group(1)) if match else ""


def _paths(call: str, args: str) -> list[str]:
    """The paths a path-taking call names, made absolute with its directory fd where relative."""
    out = []
    dirfd = _fd_path(args) if call.endswith("at") or call in ("renameat2", "openat2") else ""
    for raw in _STRING.findall(args):
        path = _unescape(raw)
        if not path.startswith("/") and dirfd:
            path = os.path.join(dirfd, path)
        out.append(path)
    return out


def snapshot(paths: list[str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for path in paths:
        try:
            st = os.lstat(path)
        except OSError as exc:
            seen[path] = f"absent ({exc.strerror})"
            continue
        entry: dict[str, Any] = {"mode": st.st_mode, "uid": st.st_uid, "gid": st.st_gid}
        if stat.S_ISREG(st.st_mode):
            entry["mtime"] = st.st_mtime_ns
            entry["sha256"] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        elif stat.S_ISDIR(st.st_mode):
            entry["names"] = sorted(os.listdir(path))
        elif stat.S_ISLNK(st.st_mode):
            entry["target"] = os.readlink(path)
        seen[path] = entry
    return seen


def test_an_audit_changes_nothing_on_the_host_and_writes_only_its_report(live: Live, tmp_path: Path) -> None:
    if not shutil.which("strace"):
        unavailable("strace is not installed")
    facts_file = tmp_path / "facts.json"
    recorded = cli("record", "--host", live.host, "--all", "-o", str(facts_file))
    assert recorded.code == 0, recorded.err
    facts = json.loads(facts_file.read_text())
    work, out_dir = tmp_path / "cwd", tmp_path / "out"
    work.mkdir()
    out_dir.mkdir()
    output = out_dir / "report.json"
    watched = sorted(p for p in set(facts["files"]["files"]) | {
        facts["daemon"]["config_file"], facts["daemon"]["exe"], str(work), str(out_dir), str(live.daemon.dir),
        str(live.daemon.config_file.parent), str(live.daemon.data_root)} if p)
    before = snapshot(watched)
    log = tmp_path / "strace.log"
    # clean_env() sets PYTHONDONTWRITEBYTECODE=1: the interpreter would otherwise cache compiled
    # modules (.pyc) next to the sources it imports, which is Python's doing, not the audit's.
    run = cli("--host", live.host, "--all", "-f", "json", "-o", str(output), cwd=work,
              prefix=("strace", "-f", "-qq", "-yy", "-s", "48", "-o", str(log), "-e", f"trace={TRACED}"))
    assert run.code in (0, 1), run.err
    assert json.loads(output.read_text())["summary"]

    temp_name = re.compile(re.escape(str(out_dir)) + r"/\.report\.json\.[^/]+\.tmp$")
    problems, temps, renames, requests = [], set(), [], []
    for pid, call, args in strace_calls(log):
        if call in ("open", "openat", "openat2", "creat"):
            flags = args
            if call == "creat" or any(flag in flags for flag in WRITE_FLAGS):
                path = _paths(call, args)[0]
                if path == "/dev/null" or path.startswith(("/dev/pts/", "/dev/tty")):
                    continue
                if temp_name.match(path) and "O_CREAT" in flags and "O_EXCL" in flags:
                    temps.add(path)   # a new file or nothing: never one planted there
                    continue
                problems.append(f"{call} {path} for writing ({pid}: {args[:200]})")
        elif call in PATH_CALLS:
            paths = _paths(call, args)
            if call.startswith("rename") and len(paths) == 2 and paths[0] in temps and paths[1] == str(output):
                renames.append(paths)
                continue
            if call in ("fchmodat", "chmod") and paths and paths[0] in temps:
                continue
            problems.append(f"{call} {paths} ({pid}: {args[:200]})")
        elif call in FD_CALLS:
            path = _fd_path(args)
            if HARMLESS_FDS.match(path) or path in temps:
                continue
            if path in (str(work), ""):
                problems.append(f"{call} on fd {args[:80]!r}")
                continue
            problems.append(f"{call} {path} ({pid}: {args[:200]})")
        elif call in ("sendto", "sendmsg") and "UNIX-STREAM" in args.split(",", 1)[0]:
            data = _STRING.search(args)   # what the auditor sends the daemon (the only stream peer)
            requests.append(data.group(1) if data else args[:80])
    assert problems == [], "\n".join(problems[:40])
    assert len(temps) == 1 and renames == [[next(iter(temps)), str(output)]], (temps, renames)
    # What was asked of the daemon: GET requests only.
    assert requests and all(r.startswith("GET /") for r in requests), requests[:20]

    after = snapshot(watched)
    changed = {p: (before[p], after[p]) for p in watched if before[p] != after[p] and p != str(out_dir)}
    assert changed == {}, changed
    assert after[str(out_dir)]["names"] == ["report.json"] and after[str(work)]["names"] == []


# -- 7: hostile strings in what the host controls --------------------------------------------------------------------

HOSTILE_NAMES = [
    "esc\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m",
    "nl\nline2\rtab\t\x01\x7f\x9b[31m",
    "xml<&'\">\u202eevil\u2066",
    "bad\udcff\udcfe",   # bytes that are not UTF-8 (the docker CLI sends U+FFFD instead: JSON cannot carry them)
    "L" * 200 + "/" + "M" * 200 + "/" + "N" * 200,
]


@dataclass
class Hostile:
    daemon: Dockerd
    sources: list[Path]


@pytest.fixture(scope="module")
def hostile(integration_host: None) -> Iterator[Hostile]:
    with contextlib.ExitStack() as stack:
        daemon = Dockerd(name="x")
        shared = daemon.dir / "shared"
        # Unmounted after the daemon (and its containers) are gone: callbacks run last-in first-out.
        stack.callback(lambda: subprocess.run(["umount", "-l", str(shared)], capture_output=True, check=False))
        # The daemon reads its configuration from a path with escape sequences, XML specials,
        # control characters and bytes that are not UTF-8; the auditor finds it in the daemon's argv.
        config_dir = daemon.dir / "conf\x1b]0;cfg\x07\x1b[31m<&'\">\x01\udcff"
        config_dir.mkdir()
        daemon.config_file = config_dir / "daemon.json"
        daemon.daemon_json = {"icc": False}
        _start(stack, daemon)
        shared.mkdir()
        subprocess.run(["mount", "--bind", str(shared), str(shared)], check=True, capture_output=True)
        subprocess.run(["mount", "--make-shared", str(shared)], check=True, capture_output=True)
        sources = []
        for name in HOSTILE_NAMES:
            source = shared / name
            os.makedirs(os.fsencode(source), exist_ok=True)
            sources.append(source)
        volumes = []
        for n, source in enumerate(sources):
            # rshared propagation puts each source in a 5.19 finding, where the report shows it.
            volumes += ["-v", f"{source}:/m{n}:rshared"]
        labels = ["--label", "k\x1b]0;label\x07<&>\x01\u202e=v\x1b[2J", "--label", "long" + "x" * 5000 + "=" + "y" * 5000]
        daemon_cli = [docker_cli(), "run", "-d", "--name", "hostile", *volumes, *labels,
                      "--mount", "type=bind,source=/usr,target=/x\x1b[2J\x1b]0;dst\x07<&>,readonly",
                      IMAGE, "sh", "-c", "sleep 100000 # \x1b]0;cmd\x07<&>\x01"]
        made = subprocess.run([os.fsencode(a) for a in daemon_cli], env=daemon.env(), capture_output=True)
        assert made.returncode == 0, made.stderr
        daemon.docker("create", "--name", "hostile-cmd", "--label", "\x1b[31m=x", IMAGE, "/bin/\x1b]0;cmd\x07<&'\">\x01")
        yield Hostile(daemon, sources)


def _check_text(text: str, coloured: bool) -> None:
    residue = OWN_SGR.sub("", text) if coloured else text
    assert "\x1b" not in residue, [line for line in residue.splitlines() if "\x1b" in line][:3]
    assert not UNSAFE_IN_TEXT.search(residue), UNSAFE_IN_TEXT.findall(residue)[:10]


def test_hostile_strings_stay_inert_in_every_format(hostile: Hostile, tmp_path: Path) -> None:
    host = hostile.daemon.host
    coloured = cli("--host", host, "--all", "--color", "always", "--wide", "--remediation")
    plain = cli("--host", host, "--all")
    for run, colour in ((coloured, True), (plain, False)):
        assert run.code == 1 and run.err == "", run.err
        _check_text(run.text, colour)
    text = coloured.text
    assert "\\x1b]0;pwned\\x07" in text and "\\x9b[31m" in text and "\\u202eevil" in text   # shown, escaped
    assert "\\udcff" in text   # the config file's name, from the daemon's argv
    assert "\x1b[31mFAIL\x1b[0m" in text   # the tool's own colours are still there

    as_json = cli("--host", host, "--all", "-f", "json")
    report = as_json.json()
    jsonschema.validate(report, SCHEMA)
    results = {r["id"]: r for r in report["results"]}
    details = " ".join(i["detail"] for i in results["5.19"]["items"])   # JSON keeps the data as it is
    assert "esc\x1b]0;pwned\x07" in details and "xml<&'\">\u202eevil" in details and "N" * 200 in details
    assert results["2.1"]["status"] == "PASS" and "\\udcff/daemon.json" in results["2.1"]["details"]

    junit = cli("--host", host, "--all", "-f", "junit")
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(junit.text)
    root = ET.fromstring(junit.out)
    assert int(root.get("tests", "0")) == 83

    # The recorded facts keep the data (JSON escapes it) and audit the same.
    facts = tmp_path / "facts.json"
    assert cli("record", "--host", host, "--all", "-o", str(facts)).code == 0
    replayed = cli("--facts", str(facts), "-f", "json")
    assert {r["id"]: r["status"] for r in replayed.json()["results"]} == {r["id"]: r["status"] for r in report["results"]}
    replayed_text = cli("--facts", str(facts), "--color", "always", "--wide")
    _check_text(replayed_text.text, True)
