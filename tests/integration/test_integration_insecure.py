"""A daemon configured against the benchmark on every daemon option this engine lets one set, with
the files the benchmark audits owned by nobody and open to others; no containers.

Flags: a TCP listener with TLS but without client verification, --log-level debug,
--iptables=false, --icc=true, an insecure registry and a daemon-wide --cgroup-parent;
daemon.json: the syslog log driver to the local syslog. After the start the API socket and
daemon.json are given to nobody and made world-writable. The audit runs with DOCKER_CONTENT_TRUST=0.
"""
from __future__ import annotations

import os
import stat
import subprocess

import pytest

from dockerd import docker_cli
from integration_common import HOST, AuditContract, by_id, cli, exec_history
from integration_env import Env
from integration_host_checks import HostChecksContract, containerd_socket_file
from integration_common import security_options

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(insecure_env: Env) -> Env:
    return insecure_env


NO_CONTAINERS = {f"5.{n}": "SKIP" for n in range(1, 26) if n not in (22, 23)}


class TestInsecureDaemon(AuditContract, HostChecksContract):
    EXPECTED = {
        # 1 Host configuration
        "1.1": HOST, "1.2": "PASS", "1.3": "INFO", "1.4": "INFO", "1.5": HOST, "1.6": "INFO", "1.7": HOST,
        "1.8": "FAIL", "1.9": HOST, "1.10": HOST, "1.11": HOST, "1.12": HOST, "1.13": "FAIL",
        "1.14": HOST, "1.15": HOST,
        # 2 Daemon configuration
        "2.1": "FAIL",   # --icc=true
        "2.2": "FAIL",   # --log-level debug
        "2.3": "FAIL",   # --iptables=false
        "2.4": "FAIL",   # --insecure-registry
        "2.5": "PASS",
        "2.6": "FAIL",   # TCP with --tls --tlsverify=false: any client may connect
        "2.7": "WARN",   # no default ulimits (not scored)
        "2.8": "FAIL",
        # A daemon-wide parent cgroup may be deliberate: the auditor reports it for a human (INFO).
        "2.9": "INFO",
        "2.10": "PASS",
        "2.11": "FAIL",
        "2.12": "WARN",  # syslog to the local /dev/log: a human confirms it is forwarded
        "2.13": "PASS",
        # 3 Files
        "3.1": HOST, "3.2": HOST, "3.3": HOST, "3.4": HOST, "3.5": HOST, "3.6": HOST, "3.7": HOST, "3.8": HOST,
        "3.9": "FAIL",   # CA owned by nobody
        "3.10": "FAIL",  # CA 0644
        "3.11": "FAIL",  # certificate owned by nobody
        "3.12": "FAIL",  # certificate 0666
        "3.13": "FAIL",  # key owned by nobody
        "3.14": "FAIL",  # key 0644
        "3.15": "FAIL",  # socket nobody:nogroup
        "3.16": "FAIL",  # socket 0666
        "3.17": "FAIL",  # daemon.json owned by nobody
        "3.18": "FAIL",  # daemon.json 0666
        "3.19": HOST, "3.20": HOST,
        # 4 Images: none, and no containers to run as anyone
        "4.1": "SKIP", "4.2": "INFO", "4.3": "INFO", "4.4": "INFO",
        "4.5": "FAIL",   # DOCKER_CONTENT_TRUST=0
        # 5 Container runtime: nothing to judge but the docker exec history
        **NO_CONTAINERS,
        "5.22": lambda env: exec_history(offending=False),
        "5.23": lambda env: exec_history(offending=False),
        # 6
        "6.1": "INFO", "6.2": "INFO", "6.3": "INFO", "6.4": "INFO", "6.5": "INFO",
    }

    # CIS v1.6.0-v1.8.0 host, file and daemon checks, by check id (the rest: integration_host_checks.MACHINE).
    CHECKS = {
        # The socket of the containerd it started, given to nobody and made 0666 after the start.
        "file-containerd-sock-owner": lambda env: "FAIL" if env.features.get("containerd_socket_loosened")
        else containerd_socket_file(owner=True)(env),
        "file-containerd-sock-mode": lambda env: "FAIL" if env.features.get("containerd_socket_loosened")
        else containerd_socket_file(mode=0o660)(env),
        "daemon-rootless": "WARN",
        "daemon-no-new-privileges": "FAIL",        # --no-new-privileges=false
        "daemon-live-restore": "FAIL",             # not set
        "daemon-userland-proxy-disabled": "FAIL",  # --userland-proxy=true
        "daemon-experimental-off": "FAIL",         # --experimental
        # A custom profile that filters nothing: a custom profile is for a person to judge (WARN).
        "daemon-seccomp-profile": lambda env: "WARN" if "seccomp" in security_options(env) else "FAIL",
    }

    def test_new_findings_say_where_they_come_from(self, env: Env, host_checks) -> None:
        assert "flag --no-new-privileges=false" in host_checks["daemon-no-new-privileges"]["details"]
        assert "flag --experimental" in host_checks["daemon-experimental-off"]["details"]
        assert "seccomp-allow-all.json" in host_checks["daemon-seccomp-profile"]["details"]
        if env.features.get("containerd_socket_loosened"):
            assert "0666" in host_checks["file-containerd-sock-mode"]["details"]

    def test_setup_is_what_the_tables_assume(self, env: Env) -> None:
        assert env.containers == {}

    def test_findings_say_what_is_wrong(self, env: Env, reports) -> None:
        results = by_id(reports["running"])
        assert "but no client verification" in results["2.6"]["details"]
        assert "flag --log-level debug" in results["2.2"]["details"]
        assert "nobody" in results["3.15"]["details"]
        assert "0666" in results["3.16"]["details"]
        assert str(env.tls.key) in results["3.14"]["details"]

    def test_any_client_may_connect_as_2_6_says(self, env: Env) -> None:
        served = subprocess.run([docker_cli(), "-H", env.tcp, "--tls", "--tlscacert", str(env.tls.ca), "version",
                                 "--format", "{{.Server.Version}}"], capture_output=True, text=True, timeout=60,
                                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        assert served.returncode == 0 and served.stdout.strip(), served.stderr


def test_output_to_a_device_writes_through(env: Env, tmp_path) -> None:
    """`--output /dev/null` must write to the device, not rename a regular file over it (as root
    that would leave the machine without /dev/null). Tried on a null device node of our own."""
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    result = cli(env, "audit", "--host", env.host, "--check", "2", "--format", "json", "--output", str(device))
    assert result.returncode == 1, result.stderr   # section 2 fails on this daemon
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]
