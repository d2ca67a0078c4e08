"""The running daemon is the truth, made real on throwaway dockerds (docs/verdicts.md):

- a daemon serving the API on plain TCP beside its unix socket, and an audit that reaches it over
  plain TCP (2.6);
- socket activation: listening sockets passed to `dockerd -H fd://` as systemd passes them, one of
  them TCP without TLS (2.6 judges the process's own sockets, not its -H);
- `--tlsverify` / `--tls --tlsverify=false` and no -H: dockerd listens on 127.0.0.1:2376 only;
- containers in another container's network and PID namespace, which is the host's (5.9, 5.15);
- daemon.json changed after the daemon started (2.1, 2.4 judged from the running daemon);
- a relative --config-file (read from the daemon's working directory);
- a bind of /bin on a merged-/usr host, and a read-only bind of / whose submounts stay writable (5.5).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import struct
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from dockerd import Dockerd
from helpers import by_id, run_bench, without_docker_env
from integration_env import IMAGE, free_port, make_tls, port_is_free, start_daemon, unavailable

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent


def audit(host: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run_bench(["audit", "--format", "json", "--all", "--host", host, *args],
                       env=env or without_docker_env(), timeout=180)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


@contextlib.contextmanager
def daemon_of(daemon: Dockerd) -> Iterator[Dockerd]:
    with contextlib.ExitStack() as stack:
        try:
            start_daemon(stack, daemon)
        except Exception as exc:
            unavailable(str(exc))
        daemon.import_busybox(IMAGE)
        yield daemon


# -- plain TCP ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plain(integration_host: None) -> Iterator[tuple[Dockerd, int]]:
    port = free_port()
    with daemon_of(Dockerd(name="pt", args=["-H", f"tcp://127.0.0.1:{port}"],
                           daemon_json={"icc": False, "insecure-registries": ["10.9.0.0/16"]})) as daemon:
        daemon.docker("run", "-d", "--name", "agent", "--network", "host", "--pid", "host", IMAGE, "sleep", "100000")
        daemon.docker("run", "-d", "--name", "sidecar", "--network", "container:agent", "--pid", "container:agent",
                      IMAGE, "sleep", "100000")
        daemon.docker("run", "-d", "--name", "rootbind", "-v", "/:/host:ro", IMAGE, "sleep", "100000")
        daemon.docker("create", "--name", "binbind", "-v", "/bin:/hostbin", IMAGE, "true")
        yield daemon, port


def test_a_plain_tcp_socket_the_process_holds_fails_2_6(plain):
    daemon, port = plain
    result = by_id(audit(daemon.host, "--check", "2.6"))["2.6"]
    assert result["status"] == "FAIL" and f"127.0.0.1:{port} without TLS" in result["details"]
    assert "(declared)" not in result["details"]   # seen on the process's sockets


def test_an_audit_over_plain_tcp_has_seen_2_6_violated(plain):
    daemon, port = plain
    result = by_id(audit(f"tcp://127.0.0.1:{port}", "--check", "2.6"))["2.6"]
    assert result["status"] == "FAIL" and "over plain TCP" in result["details"]


def test_a_shared_namespace_takes_its_sources_verdict(plain):
    daemon, _ = plain
    report = by_id(audit(daemon.host, "--check", "5.9,5.15"))
    for rec_id in ("5.9", "5.15"):
        items = {i["resource"]: i for i in report[rec_id]["items"]}
        assert items["agent"]["status"] == "FAIL"
        assert items["sidecar"]["status"] == "FAIL" and "through agent" in items["sidecar"]["detail"]


def test_daemon_json_changed_after_start_is_judged_from_the_running_daemon(plain):
    daemon, _ = plain
    before = by_id(audit(daemon.host, "--check", "2.1,2.4"))
    assert before["2.1"]["status"] == "PASS" and before["2.4"]["status"] == "FAIL"
    original = daemon.config_file.read_text()
    try:
        daemon.config_file.write_text(json.dumps({"icc": True}))   # icc on, no insecure registry: not applied
        after = audit(daemon.host, "--check", "2.1,2.4")
        results = by_id(after)
        # The running daemon still has icc off: it passes now, but the file would undo it.
        assert results["2.1"]["status"] == "WARN" and "disagrees with the running daemon" in results["2.1"]["details"]
        # The running daemon still trusts 10.9.0.0/16, whatever the file says now.
        assert results["2.4"]["status"] == "FAIL" and "10.9.0.0/16" in results["2.4"]["details"]
        assert any("disagrees with the running daemon" in f for f in after["daemon"]["findings"])
    finally:
        daemon.config_file.write_text(original)


def test_daemon_json_replaced_with_an_old_mtime_is_still_seen_changed(plain):
    # `cp -p` / `rsync -a` of a staged file keeps its old mtime; its ctime cannot be set back. The
    # API does not report default ulimits, so only the file's change time says it is not applied.
    daemon, _ = plain
    original = daemon.config_file.read_text()
    stamp = os.stat(daemon.config_file)
    try:
        hardened = {**json.loads(original), "default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}}
        daemon.config_file.write_text(json.dumps(hardened))
        os.utime(daemon.config_file, (stamp.st_atime - 3600, stamp.st_mtime - 3600))
        result = by_id(audit(daemon.host, "--check", "2.7"))["2.7"]
        assert result["status"] == "WARN" and "after dockerd started" in result["details"], result
    finally:
        daemon.config_file.write_text(original)


def test_an_acl_on_the_api_socket_that_lets_a_user_in_fails_3_16(plain):
    # `setfacl -m u:1000:rw docker.sock`: the mode still reads 0660, and uid 1000 can drive the daemon.
    daemon, _ = plain
    mode = stat.S_IMODE(os.stat(daemon.socket).st_mode)
    entry = struct.Struct("<HHI")
    raw = (struct.pack("<I", 2) + entry.pack(0x01, (mode >> 6) & 7, 0xFFFFFFFF) + entry.pack(0x02, 6, 1000)
           + entry.pack(0x04, (mode >> 3) & 7, 0xFFFFFFFF) + entry.pack(0x10, 6, 0xFFFFFFFF)
           + entry.pack(0x20, mode & 7, 0xFFFFFFFF))
    try:
        os.setxattr(daemon.socket, "system.posix_acl_access", raw)
    except OSError as exc:
        pytest.skip(f"the daemon's socket takes no POSIX ACL here: {exc}")
    try:
        result = by_id(audit(daemon.host, "--check", "3.16"))["3.16"]
        assert result["status"] == "FAIL", result
        assert any("access ACL also grants user 1000 rw-" in i["detail"] for i in result["items"]), result
    finally:
        os.removexattr(daemon.socket, "system.posix_acl_access")
        os.chmod(daemon.socket, mode)


def test_binds_are_judged_as_the_host_resolves_them_and_as_the_kernel_mounted_them(plain):
    daemon, _ = plain
    items = {i["resource"]: i for i in by_id(audit(daemon.host, "--check", "5.5"))["5.5"]["items"]}
    if os.path.islink("/bin") and os.path.realpath("/bin") == "/usr/bin":
        assert items["binbind"]["status"] == "FAIL" and "(= /usr/bin)" in items["binbind"]["detail"]
    # Engine 20.10 binds read-only without recursing: /host/proc, /host/dev ... stay writable.
    assert items["rootbind"]["status"] == "FAIL" and "mounted read-write" in items["rootbind"]["detail"]


# -- socket activation ----------------------------------------------------------------------------

class SocketActivated(Dockerd):
    """dockerd started as systemd starts it from a socket unit: -H fd://, the sockets passed."""

    def __init__(self, tcp_port: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.tcp_port = tcp_port

    def argv(self, dockerd: str) -> list[str]:
        argv = super().argv(dockerd)
        at = argv.index("--host")
        argv[at:at + 2] = ["-H", "fd://"]
        return [sys.executable, str(HERE / "socket_activate.py"), "--unix", str(self.socket),
                "--tcp", f"127.0.0.1:{self.tcp_port}", "--", *argv]


def test_socket_activation_on_plain_tcp_fails_2_6_whatever_h_says(integration_host):
    port = free_port()
    with daemon_of(SocketActivated(port, name="sa")) as daemon:
        report = audit(daemon.host, "--check", "2.6,3.15,3.16")
        results = by_id(report)
    assert results["2.6"]["status"] == "FAIL" and f"127.0.0.1:{port} without TLS" in results["2.6"]["details"]
    # The unix socket it was handed is the API's: its owner and mode are judged.
    assert any(str(daemon.socket) == i["resource"] for i in results["3.16"]["items"])


# -- TLS and no -H ----------------------------------------------------------------------------------

class TlsOnly(Dockerd):
    """dockerd with TLS and no -H: it listens on tcp://localhost:2376 only."""

    def __init__(self, certs: Path, verify: bool, **kwargs: Any):
        tls = ["--tlsverify"] if verify else ["--tls", "--tlsverify=false"]
        super().__init__(args=[*tls, f"--tlscacert={certs / 'ca.pem'}", f"--tlscert={certs / 'server-cert.pem'}",
                               f"--tlskey={certs / 'server-key.pem'}"], **kwargs)
        self.client = certs / "client"

    @property
    def host(self) -> str:
        return "tcp://127.0.0.1:2376"

    def argv(self, dockerd: str) -> list[str]:
        argv = super().argv(dockerd)
        at = argv.index("--host")
        del argv[at:at + 2]
        return argv

    def env(self) -> dict[str, str]:
        return {**super().env(), "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(self.client)}

    def listening(self) -> bool:
        return not port_is_free(2376)


@pytest.mark.parametrize("verify,status", [(True, "PASS"), (False, "FAIL")])
def test_tls_and_no_host_listens_on_localhost_2376_only(integration_host, tmp_path, verify, status):
    if not port_is_free(2376):
        unavailable("127.0.0.1:2376 is in use on this machine")
    tls = make_tls(tmp_path / "tls")
    client = tmp_path / "tls" / "client"
    client.mkdir()
    for name, source in (("ca.pem", tls.ca), ("cert.pem", tls.client_cert), ("key.pem", tls.client_key)):
        shutil.copy(source, client / name)
    with daemon_of(TlsOnly(tmp_path / "tls", verify, name="tl")) as daemon:
        env = {**without_docker_env(), "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(client)}
        report = audit(daemon.host, "--check", "2.6", env=env)
    result = by_id(report)["2.6"]
    assert result["status"] == status, result
    assert "127.0.0.1:2376" in result["details"] and "(declared)" not in result["details"]
    assert "docker.sock" not in result["details"]   # no unix socket: only tcp://localhost:2376


# -- a relative --config-file ---------------------------------------------------------------------

class RelativeConfig(Dockerd):
    """dockerd started in its own directory with --config-file daemon.json (relative)."""

    def argv(self, dockerd: str) -> list[str]:
        argv = super().argv(dockerd)
        argv[argv.index("--config-file") + 1] = "daemon.json"
        return argv

    def spawn(self, argv: list[str], log: Any):
        import subprocess

        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=self.dir)


def test_a_relative_config_file_is_read_from_the_daemons_working_directory(integration_host):
    with daemon_of(RelativeConfig(name="rc", daemon_json={"icc": False, "log-level": "warn"})) as daemon:
        report = audit(daemon.host, "--check", "2.1,2.2")
    results = by_id(report)
    assert results["2.2"]["status"] == "FAIL" and f"{daemon.dir}/daemon.json" in results["2.2"]["details"]
    assert results["2.1"]["status"] == "PASS"
    assert any("relative to its working directory" in f for f in report["daemon"]["findings"])

