"""A Docker engine audited over ssh://, as the docker CLI reaches one.

A throwaway rootful dockerd (its socket's group is a throwaway user's) and a throwaway sshd on a
free 127.0.0.1 port, with its own configuration, host key and authorized_keys in a scratch
directory (nothing in /etc/ssh is touched); `SetEnv DOCKER_HOST=unix://<that socket>` there makes
the remote `docker system dial-stdio` reach the throwaway daemon. The auditor runs as the user,
whose ~/.ssh holds its key and a config for 127.0.0.1 (ssh reads the config of the user's passwd
home, so a temporary HOME would not do).

Containers and images are judged through the API; what needs the engine's host (files, audit
rules, processes, the daemon's command line) is SKIP, "not on this host". ssh missing, a refused
key and an unreachable host are each one line on stderr and ERROR results, never a traceback.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import jsonschema
import pytest

from dockerd import Dockerd, Unavailable, terminate
from helpers import report_schema
from integration_common import HOST, IDS, by_id, offenders, scope_args, statuses, wrong_statuses
from integration_env import IMAGE, Env, _run_container, environment, free_port, run, start_daemon
from user_env import User, add_user, bench_as, run_as, setup_python

pytestmark = pytest.mark.integration

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")


def require_ssh() -> None:
    """sshd, ssh and ssh-keygen, installed from Debian when missing."""
    tools = (SSHD, "ssh", "ssh-keygen")
    if any(not shutil.which(t) for t in tools) and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        # (the package's own sshd service cannot start where there is no init system; ours runs alone)
        if run(["apt-get", "install", "-y", "-qq", "openssh-server", "openssh-client"], check=False,
               env=env).returncode != 0:
            run(["apt-get", "update", "-qq"], check=False, env=env)
            run(["apt-get", "install", "-y", "-qq", "openssh-server", "openssh-client"], check=False, env=env)
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        raise Unavailable(f"{', '.join(missing)} missing and not installable (apt-get install openssh-server)")


@dataclass
class SshEnv(Env):
    user: Optional[User] = None
    port: int = 0
    sshd_log: Optional[Path] = None

    @property
    def url(self) -> str:
        return f"ssh://{self.user.name}@127.0.0.1:{self.port}"


class Sshd:
    def __init__(self, config: Path, log: Path, port: int):
        self.config, self.log, self.port = config, log, port
        self.process: Optional[subprocess.Popen[bytes]] = None

    def start(self, timeout: float = 15.0) -> None:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)], stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Unavailable(f"sshd exited with {self.process.returncode}: {self.log.read_text()[-600:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.1)
        raise Unavailable(f"sshd did not listen on 127.0.0.1:{self.port} within {timeout}s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            terminate(process, grace=10)


def build_ssh(stack: contextlib.ExitStack) -> SshEnv:
    require_ssh()
    scratch = Path(tempfile.mkdtemp(prefix="dcb-ssh-", dir="/tmp"))
    stack.callback(shutil.rmtree, scratch, ignore_errors=True)
    user = add_user(stack, "dcbssh")
    # useradd leaves the password locked ("!"), and sshd without PAM refuses locked accounts even
    # for key logins; "*" is no password at all, and not locked.
    run(["usermod", "--password", "*", user.name])
    setup_python(user, scratch)

    daemon = Dockerd(name="s", args=["--group", user.name])   # the socket is root:<user's group> 0660
    env = SshEnv("ssh", daemon, user=user, sshd_log=scratch / "sshd.log")
    os.chmod(daemon.dir, 0o711)   # the user must get through to the socket (mkdtemp makes it 0700)
    start_daemon(stack, daemon)
    daemon.import_busybox(IMAGE)
    _run_container(env, "hardened", "keeps the section 5 recommendations",
                   "--network", "none", "--read-only", "--cap-drop", "ALL", "--user", "1000", "--memory", "64m",
                   "--cpu-shares", "512", "--security-opt", "no-new-privileges", "--restart", "on-failure:3")
    _run_container(env, "plain", "docker run with no options but --network none", "--network", "none")
    # (named as in the other setups: the shared AppArmor rule knows a privileged container runs unconfined)
    _run_container(env, "privileged", "docker create --privileged (seen with --all)", "--network", "none",
                   "--privileged", create_only=True)

    # Keys: the sshd's host key and authorized_keys in the scratch directory, the user's key in ~/.ssh.
    host_key = scratch / "ssh_host_ed25519_key"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dcb test host", "-f", str(host_key)])
    dot_ssh = user.home / ".ssh"
    dot_ssh.mkdir(mode=0o700)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", user.name, "-f", str(dot_ssh / "id_ed25519")])
    authorized = scratch / "authorized_keys"
    authorized.write_text((dot_ssh / "id_ed25519.pub").read_text())
    authorized.chmod(0o644)
    (dot_ssh / "config").write_text("Host 127.0.0.1\n    IdentityFile ~/.ssh/id_ed25519\n    IdentitiesOnly yes\n"
                                    "    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n"
                                    "    LogLevel ERROR\n")
    for path in [dot_ssh, *dot_ssh.iterdir()]:
        os.chown(path, user.uid, user.gid)
        if path.is_file():
            path.chmod(0o600)
    scratch.chmod(0o711)

    env.port = free_port()
    config = scratch / "sshd_config"
    config.write_text("\n".join([
        f"Port {env.port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}", f"PidFile {scratch}/sshd.pid",
        f"AuthorizedKeysFile {authorized}", "PubkeyAuthentication yes", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "UsePAM no",
        "StrictModes no",   # authorized_keys lies under /tmp, which is world-writable (sticky)
        "PermitRootLogin no", f"AllowUsers {user.name}", "X11Forwarding no", "AllowTcpForwarding no",
        "PrintMotd no", "LogLevel VERBOSE",
        f"SetEnv DOCKER_HOST={daemon.host}",
    ]) + "\n")
    if not PRIVSEP_DIR.exists():   # sshd's privilege separation directory (the package's service makes it)
        PRIVSEP_DIR.mkdir(mode=0o755)
        stack.callback(lambda: PRIVSEP_DIR.rmdir() if PRIVSEP_DIR.exists() and not any(PRIVSEP_DIR.iterdir())
                       else None)
    sshd = Sshd(config, env.sshd_log, env.port)
    stack.callback(sshd.stop)
    sshd.start()

    # The docker CLI itself reaches the daemon this way; otherwise the setup, not the auditor, is wrong.
    probe = run_as(user, ["ssh", "-o", "BatchMode=yes", "-p", str(env.port), f"{user.name}@127.0.0.1",
                          "docker", "version", "--format", "{{.Server.Version}}"], user.environ(), timeout=60)
    if probe.returncode != 0:
        raise Unavailable(f"ssh to the throwaway sshd does not reach the daemon: {probe.stderr.strip()[-300:]}; "
                          f"sshd log: {env.sshd_log.read_text()[-400:]}")
    return env


@pytest.fixture(scope="module")
def env(integration_host: None) -> Iterator[SshEnv]:
    with environment(build_ssh) as built:
        yield built


# What an audit over ssh can judge: what the Engine API answers. The rest needs the engine's host.
SSH_EXPECTED = {
    **{rec_id: "SKIP" for rec_id in IDS},
    "1.5": HOST,                               # the engine reports its version
    "2.5": "PASS",                             # and its storage driver
    "4.1": "FAIL",                             # plain runs as root
    "4.2": "INFO", "4.3": "INFO", "4.4": "INFO",
    "5.1": HOST, "5.2": HOST,
    **{rec_id: "PASS" for rec_id in ("5.3", "5.4", "5.5", "5.7", "5.8", "5.9", "5.13", "5.14", "5.15", "5.16",
                                     "5.17", "5.18", "5.19", "5.20", "5.21", "5.24")},
    "5.10": "FAIL", "5.11": "FAIL", "5.12": "FAIL",
    # What the remote daemon reports of itself is judged (the running daemon is the truth): a default
    # daemon shares icc, logs to json-file, remaps nothing, has no authorization plugin.
    "2.1": "FAIL", "2.4": "PASS", "2.8": "FAIL", "2.11": "FAIL", "2.12": "FAIL", "2.13": "PASS",
    "5.22": "SKIP", "5.23": "SKIP",            # the audit log and its rules are on the engine's host
    # plain has no no-new-privileges option, and Engine 20.10 does not report the daemon's default
    "5.25": "ERROR",
    "6.2": "INFO", "6.3": "INFO", "6.4": "INFO", "6.5": "INFO",
}
# With --all, the created privileged container joins (and breaks what privilege breaks).
SSH_EXPECTED_ALL = {"5.3": "FAIL", "5.4": "FAIL", "5.17": "WARN", "5.21": "FAIL"}   # (5.17 is not scored)
OFFENDERS = {rec_id: {"plain"} for rec_id in ("4.1", "5.10", "5.11", "5.12")}
OFFENDERS_ALL = {**{rec_id: {"plain", "privileged"} for rec_id in ("4.1", "5.10", "5.11", "5.12")},
                 **{rec_id: {"privileged"} for rec_id in SSH_EXPECTED_ALL}}


def _audit_over_ssh(env: SshEnv, given: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    environ = env.user.environ(**extra_env)
    if given == "DOCKER_HOST":
        environ["DOCKER_HOST"] = env.url
        endpoint: list[str] = []
    else:
        endpoint = ["--host", env.url]
    return bench_as(env.user, "audit", *endpoint, "--format", "json", *args, env=environ)


@pytest.mark.parametrize("given", ["DOCKER_HOST", "--host"])
@pytest.mark.parametrize("scope", ["running", "all"])
def test_audit_over_ssh(env: SshEnv, scope: str, given: str) -> None:
    result = _audit_over_ssh(env, given, *scope_args(scope))
    assert result.returncode == 1, result.stderr   # FAILs: plain breaks several recommendations
    assert result.stderr == "", result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, report_schema())
    expected = dict(SSH_EXPECTED, **(SSH_EXPECTED_ALL if scope == "all" else {}))
    wrong = wrong_statuses(report, expected, env, scope)
    assert not wrong, wrong
    assert report["host"]["docker_version"] == env.daemon.docker("version", "-f", "{{.Server.Version}}").stdout.strip()
    judged = env.everything() if scope == "all" else env.running()
    results = by_id(report)
    for rec_id in ("4.1", "5.4", "5.10", "5.25"):
        assert {i["resource"] for i in results[rec_id]["items"]} == judged
    table = OFFENDERS_ALL if scope == "all" else OFFENDERS
    for rec_id, names in table.items():
        assert offenders(results[rec_id]) == names, (rec_id, results[rec_id]["items"])
    # 5.25: those that rely on the daemon's no-new-privileges default cannot be judged from here.
    unknown = {i["resource"] for i in results["5.25"]["items"] if i["status"] == "ERROR"}
    assert unknown == ({"plain", "privileged"} if scope == "all" else {"plain"}), results["5.25"]["items"]
    assert {i["resource"] for i in results["4.3"]["items"]} <= {IMAGE} and IMAGE in results["4.3"]["details"]
    for rec_id in ("1.1", "1.7", "2.3", "3.15", "3.16", "4.5"):
        assert f"the Docker engine at {env.url} is not on this host" in results[rec_id]["details"]


def test_a_recorded_ssh_audit_replays_the_same(env: SshEnv) -> None:
    facts_file = env.user.home / "facts.json"
    recorded = bench_as(env.user, "record", "--host", env.url, "--output", str(facts_file))
    assert recorded.returncode == 0, recorded.stderr
    facts = json.loads(facts_file.read_text())
    assert facts["engine"]["endpoint"] == env.url and facts["engine"]["local"] is False
    assert facts["daemon"]["skipped"] and "not on this host" in facts["daemon"]["skipped"]
    replayed = bench_as(env.user, "audit", "--facts", str(facts_file), "--format", "json")
    live = _audit_over_ssh(env, "--host")
    assert statuses(json.loads(replayed.stdout)) == statuses(json.loads(live.stdout))


@pytest.mark.parametrize("case", ["key refused", "host unreachable", "no ssh client"])
def test_ssh_failures_are_one_line_and_errors(env: SshEnv, case: str) -> None:
    if case == "key refused":
        url, extra, said = f"ssh://root@127.0.0.1:{env.port}", {}, "Permission denied (publickey)"
    elif case == "host unreachable":
        url, extra, said = f"ssh://{env.user.name}@127.0.0.1:{free_port()}", {}, "Connection refused"
    else:
        url, extra, said = env.url, {"PATH": "/nonexistent"}, "the ssh client is not installed"
    result = bench_as(env.user, "audit", "--host", url, "--format", "json", env=env.user.environ(**extra))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("docker-cis-bench: cannot reach the Docker daemon: ") and said in lines[0]
    results = by_id(json.loads(result.stdout))
    for rec_id in ("1.5", "2.5", "4.1", "4.2", "5.4", "5.25", "6.4"):
        assert results[rec_id]["status"] == "ERROR" and said in results[rec_id]["details"], results[rec_id]
    for rec_id in ("1.1", "2.1", "3.1"):
        assert results[rec_id]["status"] == "SKIP" and "not on this host" in results[rec_id]["details"]
