"""A real rootless dockerd, audited as its own user and as root.

A throwaway user (with /etc/subuid and /etc/subgid ranges from useradd) runs Debian's
dockerd-rootless.sh with XDG_RUNTIME_DIR=/run/user/UID, on its defaults: socket
$XDG_RUNTIME_DIR/docker.sock, data root ~/.local/share/docker, configuration
~/.config/docker/daemon.json (icc=false here), started as a user systemd unit would be (a
~/.config/systemd/user/docker.service is in place, as dockerd-rootless-setuptool.sh writes it).
Two running containers (one compliant, one plain) and one compliant exited container.

What the benchmark asks of root-owned files (3.1, 3.3, 3.5, 3.7, 3.9, 3.11, 3.13, 3.17) does not
apply, nor do /etc/default/docker (1.12, 3.19, 3.20) and the system's docker.socket (1.11, 3.3,
3.4): SKIP, each saying "rootless daemon". 2.8 passes (container root is an unprivileged host
user), 1.6 is evidence that only the user reaches the socket; containers are judged as anywhere.

The machine needs rootlesskit, slirp4netns and uidmap (installed here when missing), user
namespaces, and /dev/net/tun usable by the user (its mode is widened to 0666 for the run, as on
ordinary Linux, and restored afterwards). Where that cannot be had at all the module is skipped
with the reason, even under BENCH_REQUIRE_INTEGRATION=1; a daemon that could start and does not
fails under it.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator, Optional

import jsonschema
import pytest

from dockerd import Dockerd, Unavailable, terminate, wait_until_answering
from helpers import report_schema, run_bench, without_docker_env
from integration_common import (AUDITED_BINARIES, HOST, IDS, SCOPES, AuditContract, audit_expectation,
                                audited_host_files, by_id, exec_history, file_expectation, offenders, scope_args,
                                statuses)
from integration_env import IMAGE, Env, _run_compliant_container, _run_container, environment, free_port, run
from integration_host_checks import HostChecksContract
from user_env import User, add_user, bench_as, read_state, setup_python

pytestmark = pytest.mark.integration

ROOTLESS_PACKAGES = ("rootlesskit", "slirp4netns", "uidmap")
SCRIPT_CANDIDATES = ("/usr/share/docker.io/contrib/dockerd-rootless.sh", "/usr/bin/dockerd-rootless.sh",
                     "/usr/local/bin/dockerd-rootless.sh")
TUN = "/dev/net/tun"
AUDIT_IDS = [f"1.{n}" for n in range(7, 16)]
# Recommendations that assume root-owned files, or files only the system daemon uses.
ROOTLESS_SKIPS = ["1.11", "1.12", "3.1", "3.3", "3.4", "3.5", "3.7", "3.9", "3.11", "3.13", "3.17", "3.19", "3.20"]


def _read_int(path: str) -> Optional[int]:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def rootless_script() -> Optional[str]:
    return next((p for p in SCRIPT_CANDIDATES if os.access(p, os.X_OK)), shutil.which("dockerd-rootless.sh"))


def cannot_run_rootless() -> Optional[str]:
    """Why this machine cannot run a rootless dockerd at all (None: it can). Installs the packages
    it needs when they are missing."""
    if not rootless_script():
        return "dockerd-rootless.sh is not installed (Debian's docker.io ships it in /usr/share/docker.io/contrib)"
    tools = ("rootlesskit", "slirp4netns", "newuidmap", "newgidmap")
    if any(not shutil.which(t) for t in tools) and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        installed = run(["apt-get", "install", "-y", "-qq", *ROOTLESS_PACKAGES], check=False, env=env)
        if installed.returncode != 0:
            run(["apt-get", "update", "-qq"], check=False, env=env)
            run(["apt-get", "install", "-y", "-qq", *ROOTLESS_PACKAGES], check=False, env=env)
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        return f"{', '.join(missing)} missing and not installable (apt-get install {' '.join(ROOTLESS_PACKAGES)})"
    if _read_int("/proc/sys/user/max_user_namespaces") == 0:
        return "user namespaces are disabled (user.max_user_namespaces=0)"
    if _read_int("/proc/sys/kernel/unprivileged_userns_clone") == 0:
        return "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)"
    if _read_int("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1:
        return "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)"
    try:
        if not stat.S_ISCHR(os.stat(TUN).st_mode):
            return f"{TUN} is not a character device"
    except OSError as exc:
        return f"{TUN} is not available ({exc.strerror}): slirp4netns needs it"
    return None


class RootlessDockerd:
    """dockerd-rootless.sh run as a user; the interface of tests/dockerd.py's Dockerd that the
    shared integration code uses (host, docker(), import_busybox(), process.pid, config_file,
    data_root)."""

    import_busybox = Dockerd.import_busybox
    container_ids = Dockerd.container_ids
    log_tail = Dockerd.log_tail
    env = Dockerd.env          # the docker CLI as root, against the user's socket

    def __init__(self, user: User, runtime_dir: Path, log_path: Path):
        self.user = user
        self.runtime_dir = runtime_dir
        self.socket = runtime_dir / "docker.sock"
        self.config_dir = user.home / ".config" / "docker"
        self.config_file = self.config_dir / "daemon.json"
        self.unit_file = user.home / ".config" / "systemd" / "user" / "docker.service"
        self.data_root = user.home / ".local" / "share" / "docker"
        self.exec_root = runtime_dir / "docker"   # dockerd's default under RootlessKit
        self.log_path = log_path
        self.launcher: Optional[subprocess.Popen[bytes]] = None
        self.process: Any = None   # .pid: the dockerd process (inside rootlesskit's namespaces)

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def environ(self) -> dict[str, str]:
        return self.user.environ(XDG_RUNTIME_DIR=str(self.runtime_dir),
                                 PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")

    def docker(self, *args: str, check: bool = True, input: Optional[bytes] = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The docker CLI as root, against the user's socket."""
        return Dockerd.docker(self, *args, check=check, input=input, timeout=timeout)  # type: ignore[arg-type]

    def start(self, timeout: float = 60.0) -> None:
        import psutil

        from user_env import as_user_argv

        log = open(self.log_path, "wb")
        self.launcher = subprocess.Popen(as_user_argv(self.user, [rootless_script()]), env=self.environ(),
                                         cwd=str(self.user.home), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        wait_until_answering(self, self.launcher, timeout, "dockerd-rootless.sh")
        daemons = [p for p in psutil.Process(self.launcher.pid).children(recursive=True) if p.name() == "dockerd"]
        if len(daemons) != 1:
            raise RuntimeError(f"expected one dockerd under rootlesskit, found {len(daemons)}")
        self.process = SimpleNamespace(pid=daemons[0].pid)

    def stop(self) -> None:
        launcher, self.launcher = self.launcher, None
        if launcher is None:
            return
        if launcher.poll() is None:
            ids = self.container_ids()
            if ids:
                self.docker("rm", "-f", *ids, check=False, timeout=120)
            terminate(launcher, grace=30, group=True)   # rootlesskit passes SIGTERM on to dockerd


@dataclass
class RootlessEnv(Env):
    user: Optional[User] = None
    audit_rules: str = "read"     # what the user meets opening the audit rules: read / missing / denied
    audit_log: str = "read"       # ... and the audit log


def _restore_mode(path: str, mode: int) -> None:
    with contextlib.suppress(OSError):
        os.chmod(path, mode)


def build_rootless(stack: contextlib.ExitStack) -> RootlessEnv:
    scratch = Path(tempfile.mkdtemp(prefix="dcb-rl-", dir="/tmp"))
    stack.callback(shutil.rmtree, scratch, ignore_errors=True)
    user = add_user(stack, "dcbrl")
    setup_python(user, scratch)

    runtime_dir = Path(f"/run/user/{user.uid}")
    if runtime_dir.exists():
        raise Unavailable(f"{runtime_dir} already exists; it is not this test's to use")
    made_parent = not runtime_dir.parent.exists()
    stack.callback(lambda: made_parent and shutil.rmtree(runtime_dir.parent, ignore_errors=True))
    stack.callback(shutil.rmtree, runtime_dir, ignore_errors=True)
    runtime_dir.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    runtime_dir.mkdir(mode=0o700)
    os.chown(runtime_dir, user.uid, user.gid)

    # slirp4netns opens /dev/net/tun as the user: 0600 here, 0666 on ordinary Linux.
    mode = stat.S_IMODE(os.stat(TUN).st_mode)
    if mode & 0o006 != 0o006:
        stack.callback(_restore_mode, TUN, mode)
        os.chmod(TUN, 0o666)

    daemon = RootlessDockerd(user, runtime_dir, scratch / "dockerd.log")
    for directory in (daemon.config_dir, daemon.unit_file.parent):
        directory.mkdir(parents=True, exist_ok=True)
    daemon.config_file.write_text(json.dumps({"icc": False}) + "\n")
    daemon.unit_file.write_text("[Unit]\nDescription=Docker Application Container Engine (Rootless)\n\n[Service]\n"
                                f"Environment=PATH={daemon.environ()['PATH']}\nExecStart={rootless_script()}\n"
                                "Type=simple\n\n[Install]\nWantedBy=default.target\n")
    for path in [user.home / ".config", *(user.home / ".config").rglob("*")]:
        os.chown(path, user.uid, user.gid)
    daemon.config_dir.chmod(0o700)
    daemon.config_file.chmod(0o644)
    daemon.unit_file.chmod(0o644)

    env = RootlessEnv("rootless", daemon, user=user)  # type: ignore[arg-type]
    stack.callback(daemon.stop)
    try:
        daemon.start()
    except RuntimeError as exc:
        raise RootlessDidNotStart(str(exc)) from None
    daemon.import_busybox(IMAGE)
    _run_compliant_container(env, free_port())
    _run_container(env, "plain", "docker run with no options at all")
    _run_container(env, "exited", "a compliant container that has exited (seen with --all)",
                   "--read-only", "--cap-drop", "ALL", "--user", "1000", "--memory", "32m", "--cpu-shares", "256",
                   "--security-opt", "no-new-privileges", command=("true",))
    daemon.docker("wait", "exited")
    env.not_running.add("exited")

    # What the user meets where root reads freely (the auditor then says ERROR, never PASS).
    rule_files = ["/etc/audit/audit.rules"] + [str(p) for p in sorted(Path("/etc/audit/rules.d").glob("*.rules"))]
    states = {read_state(user, p) for p in rule_files}
    env.audit_rules = "read" if "read" in states else ("denied" if "denied" in states else "missing")
    env.audit_log = read_state(user, "/var/log/audit/audit.log")
    return env


class RootlessDidNotStart(Unavailable):
    pass


@pytest.fixture(scope="module")
def env(integration_host: None) -> Iterator[RootlessEnv]:
    reason = cannot_run_rootless()
    if reason:
        pytest.skip(f"a rootless dockerd cannot run on this machine: {reason}")
    with environment(build_rootless) as built:
        yield built


OWN_AUDITED = {"1.8": lambda d: [str(d.data_root)], "1.9": lambda d: [str(d.config_dir)],
               "1.10": lambda d: [str(d.unit_file)], "1.13": lambda d: [str(d.config_file)]}


def _audited(rec_id: str):
    """CIS 1.7-1.15 on the rootless daemon's own files, by the host's audit rules."""
    return lambda env: audit_expectation(OWN_AUDITED[rec_id](env.daemon))


def _mode(paths_of, mode: int):
    return lambda env: file_expectation(paths_of(env.daemon), mode=mode)


class TestRootlessDaemonAuditedByRoot(AuditContract, HostChecksContract):
    """`docker-cis-bench --host unix:///run/user/UID/docker.sock` as root."""

    EXPECTED = {
        # 1 Host configuration
        "1.1": HOST,     # ~/.local/share/docker: on the root filesystem unless /home is a partition
        "1.2": "PASS", "1.3": "INFO", "1.4": "INFO",
        "1.5": HOST,
        "1.6": "INFO",   # rootless: only its user can reach the socket
        "1.7": HOST,     # /usr/sbin/dockerd, /usr/bin/docker
        "1.8": _audited("1.8"),
        "1.9": _audited("1.9"),
        "1.10": _audited("1.10"),
        "1.11": "SKIP",  # no docker.socket user unit; the system's starts the system daemon
        "1.12": "SKIP",  # /etc/default/docker configures the system daemon
        "1.13": _audited("1.13"),
        "1.14": HOST, "1.15": HOST,
        # 2 Daemon configuration, from ~/.config/docker/daemon.json
        "2.1": "PASS",   # icc=false there
        "2.2": "PASS", "2.3": "PASS", "2.4": "PASS", "2.5": "PASS",
        "2.6": "PASS",   # the unix socket only
        "2.7": "WARN",
        "2.8": "PASS",   # rootless: container root is the unprivileged user's subordinate id
        "2.9": "PASS", "2.10": "PASS",
        "2.11": "FAIL", "2.12": "FAIL",
        "2.13": "PASS",
        # 3 Files: the user's, so root ownership does not apply
        "3.1": "SKIP",
        "3.2": _mode(lambda d: [str(d.unit_file)], 0o644),
        "3.3": "SKIP", "3.4": "SKIP",
        "3.5": "SKIP",
        "3.6": _mode(lambda d: [str(d.config_dir)], 0o755),
        "3.7": "SKIP", "3.8": "SKIP",   # no ~/.config/docker/certs.d
        "3.9": "SKIP", "3.10": "SKIP", "3.11": "SKIP", "3.12": "SKIP", "3.13": "SKIP", "3.14": "SKIP",  # no TLS
        "3.15": "PASS",  # $XDG_RUNTIME_DIR/docker.sock belongs to the user
        "3.16": "PASS",  # 1660: dockerd sets the sticky bit there, which grants nothing
        "3.17": "SKIP",
        "3.18": "PASS",
        "3.19": "SKIP", "3.20": "SKIP",
        # 4 Images
        "4.1": "FAIL",   # plain runs as (the user's) root
        "4.2": "INFO", "4.3": "INFO", "4.4": "INFO",
        "4.5": "FAIL",   # no DOCKER_CONTENT_TRUST in the audit's environment
        # 5 Container runtime: judged as with any daemon
        "5.1": HOST, "5.2": HOST,
        "5.3": "PASS", "5.4": "PASS", "5.5": "PASS", "5.6": "PASS", "5.7": "PASS",
        "5.8": "INFO",   # a port published on 127.0.0.1 (by rootlesskit's port driver)
        "5.9": "PASS",
        "5.10": "FAIL", "5.11": "FAIL", "5.12": "FAIL",
        "5.13": "PASS", "5.14": "PASS", "5.15": "PASS", "5.16": "PASS", "5.17": "PASS", "5.18": "PASS",
        "5.19": "PASS", "5.20": "PASS", "5.21": "PASS",
        "5.22": lambda env: exec_history(offending=False),
        "5.23": lambda env: exec_history(offending=False),
        "5.24": "PASS",
        "5.25": "FAIL",
        # 6 Security operations
        "6.1": "INFO", "6.2": "INFO", "6.3": "INFO", "6.4": "INFO", "6.5": "INFO",
    }
    OFFENDERS = {rec_id: {"plain"} for rec_id in ("4.1", "5.10", "5.11", "5.12", "5.25")}
    OFFENDERS_ALL = OFFENDERS

    # CIS v1.6.0-v1.8.0 host, file and daemon checks, by check id (the rest: integration_host_checks.MACHINE).
    CHECKS = {
        "daemon-rootless": "PASS",
        # The system containerd's and the system daemon's files are not this daemon's.
        "audit-run-containerd": "SKIP", "audit-containerd-config": "SKIP", "audit-sysconfig-docker": "SKIP",
        "file-sysconfig-docker-mode": "SKIP", "file-sysconfig-docker-owner": "SKIP",
        "file-containerd-sock-owner": "SKIP",   # the containerd it started runs as its user
        "daemon-no-new-privileges": "FAIL", "daemon-live-restore": "FAIL", "daemon-experimental-off": "PASS",
        "daemon-userland-proxy-disabled": "FAIL",  # on by default (its proxy forwards through RootlessKit)
    }

    def test_rootless_is_the_process_uid(self, env: RootlessEnv, host_checks) -> None:
        details = host_checks["daemon-rootless"]["details"]
        assert f"runs as uid {env.user.uid}" in details and "lists rootless" in details, details

    def test_setup_is_what_the_tables_assume(self, env: RootlessEnv) -> None:
        assert env.running() == {"hardened", "plain"} and env.not_running == {"exited"}
        info = json.loads(env.daemon.docker("info", "-f", "{{json .}}").stdout)
        assert "name=rootless" in info["SecurityOptions"]
        assert info["DockerRootDir"] == str(env.daemon.data_root)

    def test_rootless_reasons_and_sources(self, env: RootlessEnv, reports, user_reports) -> None:
        for report in (reports["running"], user_reports["running"]):
            results = by_id(report)
            assert f"daemon.json {env.daemon.config_file}" in results["2.1"]["details"]
            for rec_id in ROOTLESS_SKIPS:
                if report is user_reports["running"] and rec_id in AUDIT_IDS and env.audit_rules == "denied":
                    continue   # the audit rules it would look up are root's to read: ERROR, checked above
                assert results[rec_id]["status"] == "SKIP" and "rootless daemon" in results[rec_id]["details"], \
                    (rec_id, results[rec_id]["details"])
            assert "rootless daemon" in results["2.8"]["details"]
            assert results["1.6"]["status"] == "INFO" and f"rootless daemon (uid {env.user.uid})" in results["1.6"]["details"]
            for rec_id in ("3.15", "3.16"):
                assert [i["resource"] for i in results[rec_id]["items"]] == [str(env.daemon.socket)]
            assert "sticky bit" in results["3.16"]["items"][0]["detail"]
            assert [i["resource"] for i in results["3.18"]["items"]] == [str(env.daemon.config_file)]


def _user_expected(rec_id: str, env: RootlessEnv, scope: str) -> str:
    """The user's audit sees what root's sees, except what the user may not read: the audit rules
    (auditctl needs root) and the audit log."""
    if rec_id in AUDIT_IDS and env.audit_rules == "denied":
        return "ERROR"
    if rec_id in ("5.22", "5.23") and env.audit_log == "denied":
        return "ERROR"
    root = TestRootlessDaemonAuditedByRoot().expected(rec_id, env, scope)
    if rec_id in AUDIT_IDS and root != "SKIP":
        # No auditctl as the user: the rule files are all it reads, declared rules and no more.
        paths = OWN_AUDITED[rec_id](env.daemon) if rec_id in OWN_AUDITED else audited_host_files(rec_id)
        return audit_expectation(paths or [], binaries=rec_id in AUDITED_BINARIES, declared=True)
    return root


@pytest.fixture(scope="module")
def user_reports(env: RootlessEnv) -> dict[str, dict[str, Any]]:
    """The audit run as the daemon's user, with DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock."""
    out = {}
    for scope in SCOPES:
        result = bench_as(env.user, "audit", "--format", "json", *scope_args(scope),
                          env=env.user.environ(XDG_RUNTIME_DIR=str(env.daemon.runtime_dir), DOCKER_HOST=env.host))
        assert result.returncode in (0, 1), result.stderr
        out[scope] = json.loads(result.stdout)
    return out


@pytest.mark.parametrize("scope", SCOPES)
def test_the_users_own_audit(env: RootlessEnv, user_reports, scope: str) -> None:
    report = user_reports[scope]
    jsonschema.validate(report, report_schema())
    wrong = {}
    for rec_id in IDS:
        result = by_id(report)[rec_id]
        want = _user_expected(rec_id, env, scope)
        if result["status"] != want:
            wrong[rec_id] = (result["status"], want, result["details"][:200])
    assert not wrong, wrong
    judged = env.everything() if scope == "all" else env.running()
    assert {i["resource"] for i in by_id(report)["5.4"]["items"]} == judged
    assert offenders(by_id(report)["5.10"]) == {"plain"}
    for rec_id in AUDIT_IDS:
        if env.audit_rules == "denied":
            assert "cannot read the audit rules" in by_id(report)[rec_id]["details"]


def test_the_users_audit_finds_the_socket_without_docker_host(env: RootlessEnv, user_reports) -> None:
    """No DOCKER_HOST, no /var/run/docker.sock: $XDG_RUNTIME_DIR/docker.sock is the default."""
    if os.path.lexists("/var/run/docker.sock"):
        pytest.skip("/var/run/docker.sock exists on this machine: it stays the default, as for the docker CLI")
    result = bench_as(env.user, "audit", "--format", "json",
                      env=env.user.environ(XDG_RUNTIME_DIR=str(env.daemon.runtime_dir)))
    assert result.returncode in (0, 1), result.stderr
    assert statuses(json.loads(result.stdout)) == statuses(user_reports["running"])


@pytest.mark.parametrize("who", ["user", "root"])
def test_the_daemon_is_found_rootless_with_its_users_paths(env: RootlessEnv, tmp_path, who: str) -> None:
    if who == "user":
        facts_file = env.user.home / "facts.json"
        recorded = bench_as(env.user, "record", "--output", str(facts_file),
                            env=env.user.environ(XDG_RUNTIME_DIR=str(env.daemon.runtime_dir), DOCKER_HOST=env.host))
    else:
        facts_file = tmp_path / "facts.json"
        recorded = run_bench(["record", "--host", env.host, "--output", str(facts_file)], env=without_docker_env(),
                             timeout=180)
    assert recorded.returncode == 0, recorded.stderr
    facts = json.loads(facts_file.read_text())
    daemon = facts["daemon"]
    assert daemon["rootless"] is True and daemon["uid"] == env.user.uid
    assert daemon["pid"] == env.daemon.process.pid
    assert daemon["config_file"] == str(env.user.home / ".config/docker/daemon.json")
    assert daemon["config_file_source"] == "rootless default (~/.config/docker)"
    assert json.loads(daemon["config_text"]) == {"icc": False}
    locations = facts["files"]["locations"]
    assert locations["api-socket"] == [str(env.daemon.socket)]
    assert locations["docker.service"] == [str(env.daemon.unit_file)]
    assert locations["etc-docker"] == [str(env.daemon.config_dir)]
    assert locations["data-root"] == [str(env.daemon.data_root)]
    assert locations["default-docker"] == [] and locations["docker.socket"] == []


def test_its_bridge_is_in_a_network_namespace_of_its_own(env: RootlessEnv) -> None:
    """dockerd-rootless.sh runs dockerd in rootlesskit's network namespace (slirp4netns): the docker0
    it makes lives there, so the host's docker0 is not its to make or delete, and a rootless daemon
    needs no bridge from the harness."""
    pid = env.daemon.process.pid
    assert os.stat(f"/proc/{pid}/ns/net").st_ino != os.stat("/proc/self/ns/net").st_ino
    inside = run(["nsenter", f"--net=/proc/{pid}/ns/net", "ip", "-j", "link", "show", "docker0"], check=False)
    assert inside.returncode == 0, inside.stderr
    assert json.loads(inside.stdout)[0]["ifname"] == "docker0"
