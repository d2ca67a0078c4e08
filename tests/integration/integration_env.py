"""Real Docker environments for the integration tests: throwaway daemons (tests/dockerd.py) in a few
configurations, with the containers, certificates, mounts and audit rules each one needs.

Everything made here is registered on a contextlib.ExitStack the moment it exists, so a failure
half-way through a setup still removes what was made (daemons and their containers, bridges and
their iptables rules, bind mounts, cgroups, audit rules, plugin sockets, users dockerd added).
Nothing here touches a daemon, container or file it did not make.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from dockerd import Dockerd, Unavailable, busybox_path, docker_cli, require_dockerd

IMAGE = "bench-busybox:1"
NOBODY = 65534
SYSLOG_ADDRESS = "udp://127.0.0.1:5514"


REQUIRED = os.environ.get("BENCH_REQUIRE_INTEGRATION") == "1"


def unavailable(reason: str) -> None:
    """Skip, or fail when BENCH_REQUIRE_INTEGRATION=1 says the environment must be there (CI)."""
    import pytest

    if REQUIRED:
        pytest.fail(f"integration environment unavailable, and BENCH_REQUIRE_INTEGRATION=1: {reason}",
                    pytrace=False)
    pytest.skip(f"integration environment unavailable: {reason} (set BENCH_REQUIRE_INTEGRATION=1 to fail instead)")


def require_environment() -> None:
    """Raise Unavailable (with the reason) when this machine cannot run the integration tests."""
    if os.geteuid() != 0:
        raise Unavailable("the integration tests start throwaway dockerd instances and need root")
    require_dockerd()
    busybox_path()
    docker_cli()
    for tool in ("openssl", "ip", "mount", "umount"):
        if not shutil.which(tool):
            raise Unavailable(f"{tool} is not installed")


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    kwargs.setdefault("check", True)
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    return subprocess.run(argv, **kwargs)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


# -- TLS ---------------------------------------------------------------------------------------------

@dataclass
class Tls:
    ca: Path
    cert: Path
    key: Path
    client_cert: Path
    client_key: Path


def make_tls(directory: Path, *, strict: bool = True) -> Tls:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.

    strict: the daemon's files as the benchmark wants them (root:root, certificates 0444, key 0400);
    otherwise owned by nobody with loose modes (0644 CA, 0666 certificate, 0644 key)."""
    directory.mkdir(parents=True, exist_ok=True)
    d = str(directory)

    def path(name: str) -> str:
        return os.path.join(d, name)

    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(["openssl", "req", "-x509", *newkey, "-keyout", path("ca-key.pem"), "-out", path("ca.pem"),
         "-days", "2", "-subj", "/CN=docker-cis-bench test CA"])
    for name, cn, usage, san in (("server", "127.0.0.1", "serverAuth", "subjectAltName=IP:127.0.0.1\n"),
                                 ("client", "client", "clientAuth", "")):
        run(["openssl", "req", *newkey, "-keyout", path(f"{name}-key.pem"), "-out", path(f"{name}.csr"),
             "-subj", f"/CN={cn}"])
        Path(path(f"{name}.ext")).write_text(f"{san}extendedKeyUsage={usage}\n")
        run(["openssl", "x509", "-req", "-in", path(f"{name}.csr"), "-CA", path("ca.pem"), "-CAkey",
             path("ca-key.pem"), "-CAcreateserial", "-out", path(f"{name}-cert.pem"), "-days", "2",
             "-extfile", path(f"{name}.ext")])
    tls = Tls(Path(path("ca.pem")), Path(path("server-cert.pem")), Path(path("server-key.pem")),
              Path(path("client-cert.pem")), Path(path("client-key.pem")))
    if strict:
        owner, modes = 0, {tls.ca: 0o444, tls.cert: 0o444, tls.key: 0o400}
    else:
        owner, modes = NOBODY, {tls.ca: 0o644, tls.cert: 0o666, tls.key: 0o644}
    for file, mode in modes.items():
        os.chown(file, owner, owner)
        os.chmod(file, mode)
    return tls


# -- an authorization plugin that allows everything ----------------------------------------------------

class _AuthzHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    REPLIES = {"/Plugin.Activate": {"Implements": ["authz"]},
               "/AuthZPlugin.AuthZReq": {"Allow": True},
               "/AuthZPlugin.AuthZRes": {"Allow": True}}

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        reply = self.REPLIES.get(self.path)
        calls = self.server.calls  # type: ignore[attr-defined]
        calls[self.path] = calls.get(self.path, 0) + 1
        body = json.dumps(reply if reply is not None else {"Err": f"unknown call {self.path}"}).encode()
        self.send_response(200 if reply is not None else 404)
        self.send_header("Content-Type", "application/vnd.docker.plugins.v1.2+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:
        return "dockerd"

    def log_message(self, *args: Any) -> None:
        pass


class _UnixHttpServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    calls: dict[str, int]


class AuthzPlugin:
    """A legacy (v1) authorization plugin on /run/docker/plugins/NAME.sock that allows every request:
    enough for `authorization-plugins` to be really configured and enforced by dockerd."""

    PLUGIN_DIR = Path("/run/docker/plugins")

    def __init__(self, name: str):
        self.name = name
        self.socket = self.PLUGIN_DIR / f"{name}.sock"
        self.server: Optional[_UnixHttpServer] = None
        self.made_dir = False
        self.calls: dict[str, int] = {}  # path -> requests dockerd made to the plugin

    def start(self) -> "AuthzPlugin":
        if not self.PLUGIN_DIR.exists():
            self.PLUGIN_DIR.mkdir(parents=True)
            self.made_dir = True
        self.server = _UnixHttpServer(str(self.socket), _AuthzHandler)
        self.server.calls = self.calls
        threading.Thread(target=self.server.serve_forever, name=f"authz-{self.name}", daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        if self.made_dir:
            with contextlib.suppress(OSError):
                self.PLUGIN_DIR.rmdir()  # only if nothing else lives there now


# -- host state made for a setup -------------------------------------------------------------------------

def shared_mount(stack: contextlib.ExitStack, directory: Path) -> Path:
    """directory bind-mounted onto itself and made shared (a shared bind needs a shared source)."""
    directory.mkdir(parents=True, exist_ok=True)
    run(["mount", "--bind", str(directory), str(directory)])
    stack.callback(run, ["umount", "-l", str(directory)], check=False)
    run(["mount", "--make-shared", str(directory)])
    return directory


def tmpfs_mount(stack: contextlib.ExitStack, directory: Path, size: str = "512m") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0711", "tmpfs", str(directory)])
    stack.callback(run, ["umount", "-l", str(directory)], check=False)
    return directory


def audit_watch(stack: contextlib.ExitStack, path: Path, key: str) -> bool:
    """An audit watch on path (removed again afterwards); False when auditctl cannot add it."""
    auditctl = shutil.which("auditctl")
    if not auditctl:
        return False
    rule = ["-w", str(path), "-p", "wa", "-k", key]
    if run([auditctl, *rule], check=False).returncode != 0:
        return False
    stack.callback(run, [auditctl, "-W", str(path), "-p", "wa", "-k", key], check=False)
    return True


def predicted_cgroup_driver() -> str:
    """dockerd 20.10+ defaults to the systemd cgroup driver on a cgroup v2 host booted with systemd."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers") and os.path.isdir("/run/systemd/system"):
        return "systemd"
    return "cgroupfs"


def cgroup_parent_name(tag: str, driver: str) -> str:
    # The systemd driver takes a slice ("-" would nest it under another slice); cgroupfs a path.
    return f"dcb{tag}.slice" if driver == "systemd" else f"dcb-{tag}"


def remove_cgroup(name: str) -> None:
    """Remove the parent cgroup --cgroup-parent made in every hierarchy (empty once its containers
    are gone)."""
    if name.endswith(".slice") and shutil.which("systemctl"):
        run(["systemctl", "stop", name], check=False)
    for top in glob.glob(f"/sys/fs/cgroup/*/{name}") + glob.glob(f"/sys/fs/cgroup/{name}"):
        for root, _dirs, _files in sorted(os.walk(top, topdown=False), key=lambda w: -len(w[0])):
            with contextlib.suppress(OSError):
                os.rmdir(root)


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def other_daemons_use_userns() -> bool:
    """Whether a dockerd we did not start might rely on the dockremap user."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not argv or os.path.basename(argv[0].decode(errors="replace")) != "dockerd":
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        if any(a.startswith("--userns-remap") for a in args):
            return True
        config = "/etc/docker/daemon.json"
        for i, arg in enumerate(args):
            if arg == "--config-file" and i + 1 < len(args):
                config = args[i + 1]
            elif arg.startswith("--config-file="):
                config = arg.split("=", 1)[1]
        with contextlib.suppress(OSError, ValueError):
            if json.loads(Path(config).read_text()).get("userns-remap"):
                return True
    return False


def remove_dockremap_if_ours(existed_before: bool) -> None:
    """dockerd --userns-remap=default adds a dockremap user and subordinate id ranges; take them away
    again when this run added them and no other daemon uses remapping."""
    if existed_before or not user_exists("dockremap") or other_daemons_use_userns():
        return
    run(["userdel", "dockremap"], check=False)
    for path in ("/etc/subuid", "/etc/subgid"):
        with contextlib.suppress(OSError):
            lines = Path(path).read_text().splitlines(keepends=True)
            kept = [line for line in lines if not line.startswith("dockremap:")]
            if kept != lines:
                Path(path).write_text("".join(kept))
    if run(["getent", "group", "dockremap"], check=False).returncode == 0:
        run(["groupdel", "dockremap"], check=False)


# -- the environments ------------------------------------------------------------------------------------

# What these setups do not make real, whatever the machine (printed after the tests).
LIMITS = [
    "1.7, 1.9-1.12: audit rules on the machine's docker binaries, /etc/docker and unit files would change "
    "auditing for everyone here; only the hardened daemon's own data root and daemon.json get rules (1.8, 1.13)",
    "1.14, 1.15: /usr/bin/docker-containerd and docker-runc do not exist for engines after 17.x (SKIP)",
    "2.10: dm.basesize needs the devicemapper storage driver on a thin pool; not set up, only seen passing",
    "2.12: the syslog address used (udp://127.0.0.1:5514) is this host's own: WARN; no remote log server",
    "2.13: engines since 17.12 have no v1 registry client: only seen passing (moot)",
    "3.7, 3.8: registry certificates live in the machine-wide /etc/docker/certs.d; left alone (SKIP)",
    "5.4: a privileged container cannot start here; one is created and judged with --all",
    "v1.8.0 1.1.4, 1.1.12, 1.1.13, 1.1.15-1.1.17: /run/containerd, /etc/containerd/config.toml, "
    "/etc/sysconfig/docker and the shims are the machine's: judged by the rules it has, none added",
    "v1.8.0 2.7: devicemapper cannot be set up here (no thin pool; gone from Engine 25): only seen passing",
]


@dataclass
class Env:
    """One configured daemon, what was made for it, and what could not be made real."""

    name: str
    daemon: Dockerd
    containers: dict[str, str] = field(default_factory=dict)   # name -> what it demonstrates
    not_running: set[str] = field(default_factory=set)         # created or exited: seen with --all only
    cli_env: dict[str, str] = field(default_factory=dict)      # extra environment for the auditor
    features: dict[str, bool] = field(default_factory=dict)    # what could be made real here
    notes: list[str] = field(default_factory=list)             # what could not, and why
    tls: Optional[Tls] = None
    tcp: Optional[str] = None
    execs: dict[str, str] = field(default_factory=dict)        # container -> the docker exec option used
    authz: Optional["AuthzPlugin"] = None

    @property
    def host(self) -> str:
        return self.daemon.host

    def running(self) -> set[str]:
        return set(self.containers) - self.not_running

    def everything(self) -> set[str]:
        return set(self.containers)


class DaemonDidNotStart(Unavailable):
    """dockerd exited or did not answer; the message carries the end of its log."""


# Environment name -> what it could not make real on this machine (printed after the tests).
NOTES: dict[str, list[str]] = {}


@contextlib.contextmanager
def environment(build: Callable[[contextlib.ExitStack], Env]) -> Iterator[Env]:
    """The environment build() makes, for as long as the block runs; removed again afterwards, also
    when building it fails half-way. Unavailable skips (fails under BENCH_REQUIRE_INTEGRATION=1)."""
    with contextlib.ExitStack() as stack:
        try:
            env = build(stack)
        except Unavailable as exc:
            unavailable(str(exc))  # raises; the stack removes what was made so far
        NOTES[env.name] = env.notes
        yield env


def start_daemon(stack: contextlib.ExitStack, daemon: Dockerd) -> Dockerd:
    stack.callback(daemon.stop)  # stop() copes with a daemon that never started
    try:
        daemon.start()
    except RuntimeError as exc:
        raise DaemonDidNotStart(f"dockerd did not start: {exc}") from None
    return daemon


# `docker run` options with which a container keeps every section 5 recommendation (with a port
# published on 127.0.0.1, for 5.13).
COMPLIANT = ("--read-only", "--cap-drop", "ALL", "--user", "1000", "--memory", "64m", "--cpu-shares", "512",
             "--pids-limit", "64", "--security-opt", "no-new-privileges", "--restart", "on-failure:3")


def _run_compliant_container(env: Env, port: int) -> None:
    _run_container(env, "hardened", "keeps every section 5 recommendation", *COMPLIANT, "-p", f"127.0.0.1:{port}:8080")


def _run_container(env: Env, name: str, purpose: str, *options: str, command: tuple[str, ...] = ("sleep", "100000"),
                   create_only: bool = False) -> None:
    verb = "create" if create_only else "run"
    detach = () if create_only else ("-d",)
    env.daemon.docker(verb, *detach, "--name", name, *options, IMAGE, *command)
    env.containers[name] = purpose
    if create_only:
        env.not_running.add(name)


def build_default(stack: contextlib.ExitStack) -> Env:
    """A daemon with no special options (its own bridge, as every throwaway daemon) and containers
    that break each section 5 recommendation, one at a time, beside one that keeps them all."""
    daemon = Dockerd(name="d")
    env = Env("default", daemon)
    for driver in ("cgroupfs", "systemd"):   # after the daemon (and its containers) are gone
        stack.callback(remove_cgroup, cgroup_parent_name(daemon.tag, driver))
    shared = shared_mount(stack, daemon.dir / "shared")
    sshd = daemon.dir / "sshd"
    # comm of a process running a script is the script's name: this shell is "sshd" to the kernel.
    sshd.write_text("#!/bin/sh\nwhile :; do sleep 3600; done\n")
    sshd.chmod(0o755)
    start_daemon(stack, daemon)
    daemon.import_busybox(IMAGE)
    cgroup_parent = cgroup_parent_name(daemon.tag, daemon.docker("info", "-f", "{{.CgroupDriver}}").stdout.strip())

    port = free_port()

    _run_compliant_container(env, port)
    _run_container(env, "plain", "docker run with no options at all")
    _run_container(env, "net-host", "--network host", "--network", "host")
    _run_container(env, "pid-host", "--pid host", "--pid", "host")
    _run_container(env, "ipc-host", "--ipc host", "--ipc", "host")
    _run_container(env, "uts-host", "--uts host", "--uts", "host")
    _run_container(env, "cap-add", "--cap-add NET_ADMIN", "--cap-add", "NET_ADMIN")
    _run_container(env, "etc-rw", "read-write bind of /etc", "-v", "/etc:/hostetc")
    _run_container(env, "usr-ro", "read-only bind of /usr", "-v", "/usr:/hostusr:ro")
    _run_container(env, "device", "--device /dev/null", "--device", "/dev/null:/dev/xnull")
    _run_container(env, "ulimit", "--ulimit nofile", "--ulimit", "nofile=512:1024")
    _run_container(env, "shared", "shared bind propagation", "-v", f"{shared}:/shared:shared")
    _run_container(env, "seccomp", "seccomp=unconfined", "--security-opt", "seccomp=unconfined")
    _run_container(env, "restart-always", "--restart always", "--restart", "always")
    _run_container(env, "restart-many", "--restart on-failure:10", "--restart", "on-failure:10")
    _run_on_a_privileged_port(env)
    _run_container(env, "port-wide", "published on 0.0.0.0", "-p", f"0.0.0.0:{free_port('0.0.0.0')}:8080")
    _run_container(env, "publish-all", "-P", "--expose", "8080", "-P")
    _run_container(env, "cgroup-parent", "--cgroup-parent", "--cgroup-parent", cgroup_parent)
    _run_container(env, "sshd", "a process named sshd", "-v", f"{sshd}:/usr/sbin/sshd:ro",
                   command=("/usr/sbin/sshd",))
    _run_container(env, "privileged", "docker create --privileged (cannot start here)", "--privileged",
                   create_only=True)

    # docker exec sessions the daemon tracks while they run (CIS 5.22 / 5.23).
    daemon.docker("exec", "-d", "--user", "1000", "plain", "sleep", "100000")
    env.execs["plain"] = "--user"
    privileged_exec = daemon.docker("exec", "-d", "--privileged", "cap-add", "sleep", "100000", check=False)
    if privileged_exec.returncode == 0:
        env.execs["cap-add"] = "--privileged"
        env.features["privileged_exec"] = True
    else:
        env.features["privileged_exec"] = False
        env.notes.append("docker exec --privileged cannot run on this machine "
                         f"({privileged_exec.stderr.strip()[:160]}): 5.22 is only seen without offenders")
    _wait_for_sshd(env)
    options = daemon.docker("info", "-f", "{{json .SecurityOptions}}").stdout
    for feature, rec_id in (("apparmor", "5.1"), ("selinux", "5.2")):
        if f"name={feature}" not in options:
            env.notes.append(f"{feature} is not enabled in this daemon: {rec_id} is only seen as SKIP")
    with contextlib.suppress(OSError):
        if "aufs" not in Path("/proc/filesystems").read_text():
            env.notes.append("the kernel has no aufs: 2.5 is only seen passing")
    return env


def _run_on_a_privileged_port(env: Env) -> None:
    """port-low, published on the first free port below 1024 (5.7). Test runs share this machine's
    ports: one may take a port between the look and `docker run`, then the next is tried."""
    for low in (80, 81, 88, 1023):
        if not port_is_free(low):
            continue
        try:
            _run_container(env, "port-low", f"published on host port {low}", "-p", f"127.0.0.1:{low}:8080")
        except RuntimeError as exc:
            env.daemon.docker("rm", "-f", "port-low", check=False)
            if "address already in use" in str(exc):
                continue
            raise
        env.features["privileged_port"] = low
        return
    raise Unavailable("no privileged port below 1024 is free on 127.0.0.1")


def _wait_for_sshd(env: Env, timeout: float = 20.0) -> None:
    """The script's shell must be up (comm sshd) before the audit looks at the process table."""
    pid = env.daemon.docker("inspect", "-f", "{{.State.Pid}}", "sshd").stdout.strip()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "sshd":
                return
        time.sleep(0.1)
    raise RuntimeError(f"the sshd container's process (pid {pid}) never showed up as sshd")


def build_hardened(stack: contextlib.ExitStack) -> Env:
    """A daemon configured the way the benchmark asks (flags and daemon.json mixed), with compliant
    containers; what the benchmark audits on the host side is made compliant where it is ours to
    change (data root on its own filesystem, audit rules on our files, TLS file owners and modes).

    userns-remap=default needs user namespaces and lets dockerd add a dockremap user; where the
    daemon cannot start with it, the whole setup is made again without it, and the note says so."""
    try:
        with contextlib.ExitStack() as attempt:
            env = _build_hardened(attempt, userns=True)
            stack.push(attempt.pop_all())
            return env
    except DaemonDidNotStart as exc:
        reason = str(exc).strip().splitlines()
        env = _build_hardened(stack, userns=False)
        env.notes.append("dockerd could not start with userns-remap=default here "
                         f"({reason[-1][:200] if reason else 'no reason given'}); the hardened daemon runs "
                         "without it and 2.8 is expected to FAIL")
        return env


def _build_hardened(stack: contextlib.ExitStack, userns: bool) -> Env:
    if userns:
        stack.callback(remove_dockremap_if_ours, user_exists("dockremap"))  # after the daemon stopped
    daemon = Dockerd(name="h")
    env = Env("hardened", daemon, cli_env={"DOCKER_CONTENT_TRUST": "1"})
    env.features["userns"] = userns
    stack.callback(shutil.rmtree, daemon.dir, ignore_errors=True)  # also when nothing else removes it
    # The remapped root must be able to walk down to its data root (mkdtemp makes the directory 0700).
    os.chmod(daemon.dir, 0o711)
    env.tls = make_tls(daemon.dir / "tls", strict=True)
    env.tcp = f"tcp://127.0.0.1:{free_port()}"
    plugin_name = f"dcb-authz-{daemon.tag}"
    config: dict[str, Any] = {
        "log-level": "info",
        "default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 4096}},
        "log-driver": "syslog",
        "log-opts": {"syslog-address": SYSLOG_ADDRESS},
        "tlsverify": True,
        "tlscacert": str(env.tls.ca),
        "tlscert": str(env.tls.cert),
        "tlskey": str(env.tls.key),
        "authorization-plugins": [plugin_name],
        "no-new-privileges": True,
        "live-restore": True,
        "userland-proxy": False,
        "experimental": False,   # and the seccomp profile left at Docker's default
    }
    if userns:
        config["userns-remap"] = "default"
    daemon.daemon_json = config
    daemon.extra_args = ["--icc=false", "--host", env.tcp]
    daemon.config_file.write_text(json.dumps(config))  # Dockerd.start() writes it again, same content

    tmpfs_mount(stack, daemon.data_root)
    key = f"dcb-{daemon.tag}"
    env.features["audit_rules"] = (audit_watch(stack, daemon.data_root, key)
                                   and audit_watch(stack, daemon.config_file, key))
    if not env.features["audit_rules"]:
        env.notes.append("auditctl could not add watch rules here: 1.8 and 1.13 are only seen failing")
    plugin = AuthzPlugin(plugin_name)
    stack.callback(plugin.stop)
    plugin.start()
    env.authz = plugin
    start_daemon(stack, daemon)
    # The sockets exist once the daemon runs: the API's and its containerd's (CIS v1.6.0+ 1.1.8, 1.1.9).
    env.features["socket_audit_rules"] = (audit_watch(stack, daemon.socket, key)
                                          and audit_watch(stack, containerd_socket(daemon), key))
    daemon.import_busybox(IMAGE)
    _run_compliant_container(env, free_port())
    _run_container(env, "nnp-default", "relies on the daemon's no-new-privileges default",
                   "--read-only", "--cap-drop", "ALL", "--user", "1000:1000", "--memory", "32m",
                   "--cpu-shares", "256")
    _run_container(env, "exited", "a compliant container that has exited (seen with --all)",
                   "--read-only", "--cap-drop", "ALL", "--user", "1000", "--memory", "32m", "--cpu-shares", "256",
                   command=("true",))
    daemon.docker("wait", "exited")
    env.not_running.add("exited")
    return env


def build_insecure(stack: contextlib.ExitStack) -> Env:
    """A daemon configured against the benchmark on every daemon option that can be set on this
    engine, with the files the benchmark audits owned and permitted wrongly; no containers."""
    daemon = Dockerd(name="i")
    env = Env("insecure", daemon, cli_env={"DOCKER_CONTENT_TRUST": "0"})
    env.tls = make_tls(daemon.dir / "tls", strict=False)
    env.tcp = f"tcp://127.0.0.1:{free_port()}"
    cgroup_parent = cgroup_parent_name(daemon.tag, predicted_cgroup_driver())
    stack.callback(remove_cgroup, cgroup_parent)
    daemon.daemon_json = {"log-driver": "syslog"}  # syslog to the local /dev/log only
    # --tls alone verifies clients on Engine 20.10 and later (tlsverify takes tls's value): turning
    # verification off takes --tlsverify=false.
    # A custom daemon-wide seccomp profile that filters nothing (Engine 20.10 has no "unconfined" there).
    seccomp = daemon.dir / "seccomp-allow-all.json"
    seccomp.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW"}))
    daemon.extra_args = ["--host", env.tcp, "--tls", "--tlsverify=false", "--tlscacert", str(env.tls.ca),
                         "--tlscert", str(env.tls.cert),
                         "--tlskey", str(env.tls.key), "--log-level", "debug", "--iptables=false", "--icc=true",
                         "--insecure-registry", "10.1.2.3:5000", "--cgroup-parent", cgroup_parent,
                         "--experimental", "--userland-proxy=true", "--no-new-privileges=false",
                         "--seccomp-profile", str(seccomp)]
    start_daemon(stack, daemon)
    # What an administrator might have done to the files afterwards (the containerd socket is that of
    # the containerd this daemon started, so it is ours to change).
    os.chown(daemon.config_file, NOBODY, NOBODY)
    os.chmod(daemon.config_file, 0o666)
    os.chown(daemon.socket, NOBODY, NOBODY)
    os.chmod(daemon.socket, 0o666)
    managed = containerd_socket(daemon)
    if managed.is_relative_to(daemon.dir):
        os.chown(managed, NOBODY, NOBODY)
        os.chmod(managed, 0o666)
        env.features["containerd_socket_loosened"] = True
    else:
        env.features["containerd_socket_loosened"] = False
        env.notes.append(f"the daemon uses the system containerd's socket {managed}, not ours to loosen: "
                         "3.23 and 3.24 are judged as the machine has them")
    return env


def containerd_socket(daemon: Dockerd) -> Path:
    """The containerd socket a throwaway daemon uses: that of the containerd it starts under its exec
    root, unless the system containerd's socket existed when it started (moby initContainerD)."""
    managed = daemon.exec_root / "containerd" / "containerd.sock"
    return managed if managed.exists() else Path("/run/containerd/containerd.sock")
