"""Rootless daemons and ssh:// engines, without a daemon: the default endpoint of a rootless user,
where a rootless daemon's files are, which recommendations do not apply to it, and the ssh client
(run against a stand-in `ssh` on PATH that answers the Engine API as `docker system dial-stdio`
would, or fails as ssh does). The real thing is in tests/integration/test_integration_rootless.py
and test_integration_ssh.py."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from bench.collect.engine import collect_containers, collect_engine
from bench.engine_api import endpoint
from bench.engine_api.errors import SshError, describe_api_error
from bench.engine_api.session import EngineOptions, EngineSession
from bench.engine_api.ssh import parse_ssh_url, ssh_argv
from bench.collect.files import locate
from bench.evaluate import run_check
from bench.facts import DaemonFacts, EngineFacts, Facts
from bench.hostio import Host
from bench.operators import OPERATORS
from helpers import apply_case, by_id, facts_of, hardened_data, make, run_bench, without_docker_env


# -- the default endpoint of a rootless daemon's user ---------------------------------------------

@pytest.fixture
def runtime_dir(tmp_path, monkeypatch):
    """An $XDG_RUNTIME_DIR with a listening docker.sock, on a host without the system socket."""
    directory = tmp_path / "run"
    directory.mkdir()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(directory / "docker.sock"))
    monkeypatch.setattr(endpoint, "DEFAULT_ENDPOINT", f"unix://{tmp_path}/absent/docker.sock")
    yield directory
    listener.close()


def test_a_rootless_users_socket_is_the_default_when_there_is_no_system_socket(runtime_dir):
    session = EngineSession(EngineOptions(), environ={"XDG_RUNTIME_DIR": str(runtime_dir)})
    assert session.endpoint == f"unix://{runtime_dir}/docker.sock"
    assert session.local and session.socket_path == f"{runtime_dir}/docker.sock"


def test_docker_host_and_host_option_win_over_the_rootless_socket(runtime_dir):
    env = {"XDG_RUNTIME_DIR": str(runtime_dir), "DOCKER_HOST": "unix:///elsewhere.sock"}
    assert EngineSession(EngineOptions(), environ=env).endpoint == "unix:///elsewhere.sock"
    given = EngineOptions(base_url="unix:///given.sock")
    assert EngineSession(given, environ={"XDG_RUNTIME_DIR": str(runtime_dir)}).endpoint == "unix:///given.sock"


def test_the_system_socket_stays_the_default_where_it_exists(runtime_dir, tmp_path, monkeypatch):
    system = tmp_path / "system.sock"
    system.write_text("")   # anything there, even a stale file, keeps the docker CLI's default
    monkeypatch.setattr(endpoint, "DEFAULT_ENDPOINT", f"unix://{system}")
    session = EngineSession(EngineOptions(), environ={"XDG_RUNTIME_DIR": str(runtime_dir)})
    assert session.endpoint == f"unix://{system}"


def test_only_a_socket_in_the_runtime_dir_counts(tmp_path, monkeypatch):
    monkeypatch.setattr(endpoint, "DEFAULT_ENDPOINT", f"unix://{tmp_path}/absent/docker.sock")
    (tmp_path / "docker.sock").write_text("not a socket")
    for environ in ({"XDG_RUNTIME_DIR": str(tmp_path)}, {"XDG_RUNTIME_DIR": "relative/dir"}, {}):
        assert EngineSession(EngineOptions(), environ=environ).endpoint == endpoint.DEFAULT_ENDPOINT


# -- where a rootless daemon's files are -----------------------------------------------------------

@pytest.fixture
def rootless_host(tmp_path):
    root = tmp_path / "host"
    make(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
    make(root, "/etc/group", "root:x:0:\nalice:x:1000:\ndocker:x:998:bob\n")
    # The system daemon's units and options: not the rootless daemon's.
    make(root, "/usr/lib/systemd/system/docker.service", "[Service]\nExecStart=/usr/bin/dockerd\n")
    make(root, "/usr/lib/systemd/system/docker.socket", "[Socket]\nListenStream=/run/docker.sock\n")
    make(root, "/usr/lib/systemd/system/docker.service.d/system.conf", "[Service]\n")
    make(root, "/etc/default/docker", "DOCKER_OPTS=")
    make(root, "/home/alice/.config/systemd/user/docker.service", "[Service]\nExecStart=dockerd-rootless.sh\n")
    make(root, "/home/alice/.config/systemd/user/docker.service.d/override.conf", "[Service]\n")
    make(root, "/home/alice/.config/docker/daemon.json", '{"icc": false, "tlsverify": true}')
    make(root, "/home/alice/.config/docker/certs.d/registry.example/ca.crt", "cert")
    return root


def rootless_daemon(config_text='{"icc": false, "tlsverify": true}') -> DaemonFacts:
    return DaemonFacts(error=None, pid=4242, exe="/usr/bin/dockerd", argv=["dockerd"], uid=1000, rootless=True,
                       config_file="/home/alice/.config/docker/daemon.json", config_text=config_text)


def test_a_rootless_daemon_is_audited_with_its_own_files(rootless_host):
    host = Host(str(rootless_host))
    daemon = rootless_daemon()
    found, notes = locate(host, Facts(daemon=daemon, engine=EngineFacts(error=None)))
    assert found["docker.service"] == ["/home/alice/.config/systemd/user/docker.service"]
    assert found["docker.service.d"] == ["/home/alice/.config/systemd/user/docker.service.d/override.conf"]
    # The system's docker.socket starts the system daemon: a rootless one has none of its own here.
    assert found["docker.socket"] == [] and "rootless daemon (uid 1000)" in notes["docker.socket"]
    assert found["etc-docker"] == ["/home/alice/.config/docker"]
    assert found["daemon.json"] == ["/home/alice/.config/docker/daemon.json"]
    assert found["registry-certs"] == ["/home/alice/.config/docker/certs.d/registry.example/ca.crt"]
    for role in ("default-docker", "sysconfig-docker"):
        assert found[role] == [] and "configures the system daemon" in notes[role]
    # dockerd's TLS default is ~/.docker of the daemon's user.
    assert found["tls-key"] == ["/home/alice/.docker/key.pem"]


def test_without_a_daemon_json_the_home_comes_from_passwd(rootless_host):
    host = Host(str(rootless_host))
    daemon = DaemonFacts(error=None, pid=1, exe="/usr/bin/dockerd", argv=["dockerd", "--config-file", "/srv/d.json"],
                         uid=1000, rootless=True, config_file="/srv/d.json", config_text=None)
    found, _ = locate(host, Facts(daemon=daemon, engine=EngineFacts(error=None)))
    assert found["docker.service"] == ["/home/alice/.config/systemd/user/docker.service"]


ROOTLESS = {"facts": {"daemon": {"rootless": True, "uid": 1000}}}


@pytest.mark.parametrize("check_id", ["file-docker-service-owner", "file-docker-socket-unit-owner",
                                      "file-etc-docker-owner", "file-registry-certs-owner", "file-tls-ca-owner",
                                      "file-tls-cert-owner", "file-tls-key-owner", "file-daemon-json-owner"])
def test_root_ownership_does_not_apply_to_a_rootless_daemon(checks, check_id):
    rootful = run_check(checks[check_id], facts_of(hardened_data()))
    rootless = run_check(checks[check_id], facts_of(apply_case(hardened_data(), ROOTLESS)))
    assert rootful.status.value != "SKIP" or check_id == "file-registry-certs-owner"
    assert rootless.status.value == "SKIP" and "rootless daemon (uid 1000)" in rootless.details


@pytest.mark.parametrize("mode,limit,ok", [
    (0o1660, "0660", True),   # rootless dockerd's socket under $XDG_RUNTIME_DIR
    (0o1644, "0644", True), (0o1755, "0755", True),
    (0o1666, "0660", False), (0o4755, "0755", False), (0o2755, "0755", False),
])
def test_the_sticky_bit_grants_nothing(mode, limit, ok):
    operator = OPERATORS["mode_at_most"]
    assert operator.test(mode, operator.prepare(limit)) is ok


# -- ssh:// engines ------------------------------------------------------------------------------

def test_ssh_addresses_become_the_docker_clis_ssh_command():
    assert parse_ssh_url("ssh://alice@example.org:2222") == ("alice", "example.org", 2222)
    assert parse_ssh_url("ssh://[::1]") == (None, "::1", None)
    assert ssh_argv("ssh://alice@example.org:2222", 7.5) == [
        "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=8", "-T", "-l", "alice", "-p", "2222", "--",
        "example.org", "docker", "system", "dial-stdio"]
    assert ssh_argv("ssh://example.org", 10)[-5:] == ["--", "example.org", "docker", "system", "dial-stdio"]


@pytest.mark.parametrize("bad", ["ssh://", "ssh://alice:secret@host", "ssh://host/path", "ssh://host:port",
                                 "ssh://-oProxyCommand=x", "ssh://host?x=1"])
def test_bad_ssh_addresses_are_one_line_errors(bad):
    with pytest.raises(SshError) as caught:
        parse_ssh_url(bad)
    assert "\n" not in str(caught.value) and describe_api_error(caught.value) == str(caught.value)


FAKE_SSH = r'''#!{python}
"""A stand-in for ssh: records its argv, then fails as ssh would or answers the Engine API on
stdin/stdout as `docker system dial-stdio` relays it."""
import json, os, sys
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\n")
mode = os.environ.get("FAKE_SSH_MODE", "serve")
if mode == "deny":
    sys.stderr.write("Warning: Permanently added 'example.org' (ED25519) to the list of known hosts.\r\n")
    sys.stderr.write("alice@example.org: Permission denied (publickey).\r\n")
    sys.exit(255)
if mode == "refused":
    sys.stderr.write("ssh: connect to host example.org port 2222: Connection refused\r\n")
    sys.exit(255)
if mode == "nodocker":
    sys.stderr.write("sh: 1: docker: not found\n")
    sys.exit(127)
ANSWERS = {{
    "/version": {{"ApiVersion": "1.41", "Version": "28.5.1", "Os": "linux"}},
    "/v1.41/info": {{"Driver": "overlay2", "DockerRootDir": "/var/lib/docker", "SecurityOptions": ["name=seccomp"],
                    "Containers": 1, "ContainersRunning": 1}},
    "/v1.41/containers/json": [{{"Id": "c" * 64, "Names": ["/web"]}}],
    "/v1.41/containers/" + "c" * 64 + "/json": {{
        "Id": "c" * 64, "Name": "/web", "State": {{"Running": True, "Pid": 0}}, "Config": {{"User": ""}},
        "HostConfig": {{"Privileged": True, "Memory": 0}}, "Mounts": [], "NetworkSettings": {{"Ports": {{}}}}}},
    "/v1.41/images/json": [{{"Id": "sha256:" + "i" * 64, "RepoTags": ["web:1"], "Created": 0, "Size": 1}}],
}}
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
while True:
    line = stdin.readline()
    if not line:
        break
    path = line.split()[1].decode().split("?")[0]
    while stdin.readline() not in (b"\r\n", b"\n", b""):
        pass
    body = json.dumps(ANSWERS.get(path, {{"message": "no such path " + path}})).encode()
    status = b"200 OK" if path in ANSWERS else b"404 Not Found"
    stdout.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
    stdout.flush()
'''


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text(FAKE_SSH.format(python=sys.executable))
    ssh.chmod(0o755)
    log = tmp_path / "ssh.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_SSH_LOG", str(log))

    def calls() -> list[list[str]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


def test_an_ssh_engine_is_spoken_to_through_dial_stdio(fake_ssh):
    session = EngineSession(EngineOptions(base_url="ssh://alice@example.org:2222", workers=2), environ={})
    assert not session.local and not session.uses_sdk
    try:
        facts = collect_engine(session)
        containers = collect_containers(session)
    finally:
        session.close()
    assert facts.error is None and facts.version["Version"] == "28.5.1" and facts.info["Driver"] == "overlay2"
    assert [c.name for c in containers.items] == ["web"] and containers.error is None
    assert fake_ssh()[0] == ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-T", "-l", "alice", "-p", "2222",
                             "--", "example.org", "docker", "system", "dial-stdio"]
    assert len(fake_ssh()) == 1   # one ssh (one container: one worker), kept for all five requests


@pytest.mark.parametrize("mode,said", [
    ("deny", "ssh to ssh://alice@example.org:2222 failed (exit 255): alice@example.org: Permission denied (publickey)."),
    ("refused", "failed (exit 255): ssh: connect to host example.org port 2222: Connection refused"),
    ("nodocker", "failed (exit 127): sh: 1: docker: not found (is the docker CLI installed on the remote host?)"),
])
def test_ssh_failures_are_ssh_s_own_words_on_one_line(fake_ssh, monkeypatch, mode, said):
    monkeypatch.setenv("FAKE_SSH_MODE", mode)
    session = EngineSession(EngineOptions(base_url="ssh://alice@example.org:2222"), environ={})
    facts = collect_engine(session)
    session.close()
    assert said in facts.error and "\n" not in facts.error
    assert "socket" not in facts.error   # not mistaken for a local socket's permission problem


def test_no_ssh_client(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    facts = collect_engine(EngineSession(EngineOptions(base_url="ssh://example.org"), environ={}))
    assert facts.error == "cannot reach ssh://example.org: the ssh client is not installed (apt-get install openssh-client)"


def _audit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_bench(["audit", "--format", "json", *args], env={**env, "NO_COLOR": "1"})


def test_an_audit_over_ssh_judges_the_api_and_skips_the_host(fake_ssh):
    result = _audit(env=without_docker_env(DOCKER_HOST="ssh://alice@example.org:2222"))
    assert result.returncode == 1, result.stderr
    report = by_id(result.stdout)
    assert report["5.4"]["status"] == "FAIL" and report["5.4"]["items"][0]["resource"] == "web"
    assert report["2.5"]["status"] == "PASS"
    for host_side in ("1.1", "2.3", "3.1", "3.16", "1.7"):
        assert report[host_side]["status"] == "SKIP"
        assert "the Docker engine at ssh://alice@example.org:2222 is not on this host" in report[host_side]["details"]
    # What the remote daemon reports of itself is judged, as on any host: its default bridge's icc.
    assert report["2.1"]["status"] in ("PASS", "FAIL") and "the running daemon" in report["2.1"]["details"], report["2.1"]


@pytest.mark.parametrize("mode", ["deny", "missing"])
def test_an_unreachable_ssh_engine_is_one_line_and_errors(fake_ssh, mode):
    env = without_docker_env()
    if mode == "missing":
        env["PATH"] = "/nonexistent"
    else:
        env["FAKE_SSH_MODE"] = mode
    result = _audit("--host", "ssh://alice@example.org:2222", env=env)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "cannot reach the Docker daemon" in result.stderr
    report = by_id(result.stdout)
    assert report["5.4"]["status"] == "ERROR" and "ssh" in report["5.4"]["details"]
    assert report["2.1"]["status"] == "SKIP"   # host-side: still not this host's to judge
