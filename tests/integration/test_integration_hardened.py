"""A daemon configured the way the benchmark asks, with compliant containers.

Settings come from both places dockerd reads them: --icc=false and a TCP listener as flags; log
level, default ulimits, a syslog log driver to udp://127.0.0.1:5514, TLS with client
verification, an authorization plugin, no-new-privileges and userns-remap=default in daemon.json. Its data root is a filesystem of
its own (tmpfs), audit rules watch its data root and daemon.json, and its TLS files are root-owned
0444 (certificates) and 0400 (key). The audit runs with DOCKER_CONTENT_TRUST=1.

What stays failing is the machine's, not the daemon's: the audit rules for the host's docker
binaries and unit files (HOST entries), and the engine version; and 2.12 warns, because a syslog
address on the loopback is this host's own syslog, not a remote service.
"""
from __future__ import annotations

import json
import shutil

import certifi
import jsonschema
import pytest

from dockerd import docker_cli
from helpers import report_schema, run_bench, without_docker_env
from integration_common import (HOST, AuditContract, audit, by_id, exec_history, kernel_audit_expectation,
                                scope_args, security_options, statuses)
from integration_env import Env, run
from integration_host_checks import HostChecksContract, socket_audit

pytestmark = pytest.mark.integration


def _feature(name: str, then: str = "PASS", otherwise: str = "FAIL"):
    return lambda env: then if env.features.get(name) else otherwise


def _audit_rules(env: Env) -> str:
    """Our watches loaded: what they are worth depends on the kernel's audit state (auditctl -s)."""
    return kernel_audit_expectation() if env.features.get("audit_rules") else "FAIL"


@pytest.fixture(scope="module")
def env(hardened_env: Env) -> Env:
    return hardened_env


class TestHardenedDaemon(AuditContract, HostChecksContract):
    EXPECTED = {
        # 1 Host configuration
        "1.1": "PASS",  # the data root is a tmpfs of its own
        "1.2": "PASS",
        "1.3": "INFO", "1.4": "INFO",
        "1.5": HOST,
        "1.6": "INFO",
        "1.7": HOST,
        "1.8": _audit_rules,   # -w <data root> (it covers the remapped root below it)
        "1.9": HOST, "1.10": HOST, "1.11": HOST, "1.12": HOST,
        "1.13": _audit_rules,  # -w <daemon.json>
        "1.14": HOST, "1.15": HOST,
        # 2 Daemon configuration: everything the benchmark asks for
        "2.1": "PASS", "2.2": "PASS", "2.3": "PASS", "2.4": "PASS", "2.5": "PASS",
        "2.6": "PASS",   # tcp://127.0.0.1 with tlsverify, CA, certificate and key
        "2.7": "PASS",
        "2.8": _feature("userns"),
        "2.9": "PASS", "2.10": "PASS",
        "2.11": "PASS",  # a (permissive) authorization plugin that dockerd consults on every call
        # syslog over UDP to 127.0.0.1: the loopback is this host's own syslog, which may or may not
        # forward the logs to a central server; a human confirms it (WARN, as for local journald).
        "2.12": "WARN",
        "2.13": "PASS",
        # 3 Files: the daemon's own are as the benchmark wants them
        "3.1": HOST, "3.2": HOST, "3.3": HOST, "3.4": HOST, "3.5": HOST, "3.6": HOST, "3.7": HOST, "3.8": HOST,
        "3.9": "PASS", "3.10": "PASS", "3.11": "PASS", "3.12": "PASS", "3.13": "PASS", "3.14": "PASS",
        "3.15": "PASS", "3.16": "PASS", "3.17": "PASS", "3.18": "PASS",
        "3.19": HOST, "3.20": HOST,
        # 4 Images
        "4.1": "PASS",   # both containers run as uid 1000
        "4.2": "INFO", "4.3": "INFO", "4.4": "INFO",
        "4.5": "PASS",   # DOCKER_CONTENT_TRUST=1
        # 5 Container runtime
        "5.1": HOST, "5.2": HOST,
        "5.3": "PASS", "5.4": "PASS", "5.5": "PASS", "5.6": "PASS", "5.7": "PASS",
        "5.8": "INFO",   # a port published on 127.0.0.1: a human confirms it is needed
        "5.9": "PASS", "5.10": "PASS", "5.11": "PASS", "5.12": "PASS", "5.13": "PASS", "5.14": "PASS",
        "5.15": "PASS", "5.16": "PASS", "5.17": "PASS",
        # The daemon's default-ulimits appear in every container's HostConfig.Ulimits; they are no
        # override of the defaults.
        "5.18": "PASS",
        "5.19": "PASS", "5.20": "PASS", "5.21": "PASS",
        "5.22": lambda env: exec_history(offending=False),
        "5.23": lambda env: exec_history(offending=False),
        "5.24": "PASS",
        "5.25": "PASS",  # one by its own security option, one by the daemon's default
        # 6 Security operations
        "6.1": "INFO", "6.2": "INFO", "6.3": "INFO", "6.4": "INFO", "6.5": "INFO",
    }

    # CIS v1.6.0-v1.8.0 host, file and daemon checks, by check id (the rest: integration_host_checks.MACHINE).
    CHECKS = {
        "audit-containerd-socket": socket_audit,   # -w on the socket of the containerd it started
        "audit-docker-socket-file": socket_audit,  # -w on its API socket
        "daemon-rootless": "WARN",                 # root, which the benchmark asks to avoid "if possible"
        "daemon-no-new-privileges": "PASS", "daemon-live-restore": "PASS", "daemon-userland-proxy-disabled": "PASS",
        "daemon-experimental-off": "PASS",
    }

    def test_the_userland_proxy_is_off_in_deed(self, env: Env, host_checks) -> None:
        # The container publishes a port, and no docker-proxy runs for it: the file's word stands.
        children = run(["ps", "-o", "args=", "--ppid", str(env.daemon.process.pid)], check=False).stdout
        assert "-host-port" not in children, children
        assert f"daemon.json {env.daemon.config_file}" in host_checks["daemon-userland-proxy-disabled"]["details"]

    def test_setup_is_what_the_tables_assume(self, env: Env) -> None:
        assert env.running() == {"hardened", "nnp-default"}
        assert env.not_running == {"exited"}

    def test_options_are_reported_with_where_they_were_set(self, env: Env, reports) -> None:
        results = by_id(reports["running"])
        assert "flag --icc=false" in results["2.1"]["details"]
        assert f"daemon.json {env.daemon.config_file}" in results["2.2"]["details"]
        assert "log-driver=syslog" in results["2.12"]["details"]
        assert str(env.daemon.config_file) in results["2.12"]["details"]
        assert str(env.tls.key) in results["2.6"]["details"]
        nnp = {i["resource"]: i["detail"] for i in results["5.25"]["items"]}
        # The kernel's word decides for a running container, whatever set it.
        assert "NoNewPrivs=1" in nnp["hardened"] and "NoNewPrivs=1" in nnp["nnp-default"]

    def test_the_daemon_is_configured_as_claimed(self, env: Env) -> None:
        info = json.loads(env.daemon.docker("info", "-f", "{{json .}}").stdout)
        assert info["LoggingDriver"] == "syslog"
        assert ("userns" in security_options(env)) == env.features["userns"]
        # dockerd asked the authorization plugin about the requests it served.
        assert env.authz is not None and env.authz.calls.get("/AuthZPlugin.AuthZReq", 0) > 0

    def test_tcp_listener_requires_a_client_certificate(self, env: Env) -> None:
        tls = env.tls
        base = [docker_cli(), "-H", env.tcp]
        verified = run([*base, "--tlsverify", "--tlscacert", str(tls.ca), "--tlscert", str(tls.client_cert),
                        "--tlskey", str(tls.client_key), "version", "-f", "{{.Server.Version}}"],
                       check=False, env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"})
        assert verified.returncode == 0, verified.stderr
        anonymous = run([*base, "--tlsverify", "--tlscacert", str(tls.ca), "version"], check=False,
                        env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "DOCKER_CERT_PATH": "/nonexistent"})
        assert anonymous.returncode != 0


# Auditing the same daemon over its TCP listener with TLS client verification (DOCKER_HOST,
# DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, as the docker CLI takes them). The endpoint is on this
# machine's loopback, and a daemon here holds that port with the data root the API reports: it is
# this host's daemon, judged in full, exactly as over its unix socket. (An engine that is really
# remote, reached over ssh, is audited in test_integration_ssh.py.)
@pytest.mark.parametrize("given", ["DOCKER_HOST", "--host"])
@pytest.mark.parametrize("scope", ["running", "all"])
def test_a_tls_endpoint_on_loopback_is_this_hosts_daemon(env: Env, tmp_path, scope: str, given: str) -> None:
    certs = tmp_path / "client"
    certs.mkdir()
    for source, name in ((env.tls.ca, "ca.pem"), (env.tls.client_cert, "cert.pem"), (env.tls.client_key, "key.pem")):
        shutil.copy(source, certs / name)
    environ = without_docker_env(**env.cli_env)
    # A CA bundle in the environment (common behind corporate proxies) must not replace the
    # daemon's CA from DOCKER_CERT_PATH.
    environ.setdefault("REQUESTS_CA_BUNDLE", certifi.where())
    environ.update(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(certs), NO_COLOR="1")
    if given == "DOCKER_HOST":
        environ["DOCKER_HOST"], endpoint = env.tcp, []
    else:
        endpoint = ["--host", env.tcp]   # TLS settings from the environment apply, as for `docker -H`
    result = run_bench(["audit", *endpoint, "--format", "json", *scope_args(scope)], env=environ, timeout=180)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, report_schema())
    port = env.tcp.rsplit(":", 1)[1]
    assert any(f"listens on 127.0.0.1:{port}" in f for f in report["daemon"]["findings"]), report["daemon"]
    local = statuses(json.loads(audit(env, scope).stdout))
    # The same daemon, seen the same way: the endpoint chosen changes no verdict.
    assert {k: v for k, v in statuses(report).items() if local[k] != v} == {}
