"""The host, file and daemon checks of CIS v1.6.0-v1.8.0, judged live on each configuration.

The checks are run by id, through the real CLI, with a profile written for them (numbering belongs
to the editions' profiles, not to these tests): each test module's class says what every check must
conclude on its daemon, in CHECKS. Where the verdict depends on this machine rather than on the
daemon under test (audit rules loaded here, containerd's files and shims as installed), the
expectation is worked out from the machine by the benchmark's rule, as integration_common does.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Union

import pytest
import yaml

from integration_common import audit_expectation, cli, file_expectation, kernel_audit_expectation, security_options
from integration_env import Env, containerd_socket

HOST_CHECKS = (
    "audit-run-containerd", "audit-containerd-socket", "audit-containerd-config", "audit-sysconfig-docker",
    "audit-containerd-shim", "audit-containerd-shim-runc-v1", "audit-containerd-shim-runc-v2",
    "audit-docker-socket-file", "file-sysconfig-docker-mode", "file-sysconfig-docker-owner",
    "file-containerd-sock-owner", "file-containerd-sock-mode", "daemon-rootless", "engine-storage-not-devicemapper",
    "daemon-no-new-privileges", "daemon-live-restore", "daemon-userland-proxy-disabled", "daemon-seccomp-profile",
    "daemon-experimental-off",
)
SHIMS = ("containerd-shim", "containerd-shim-runc-v1", "containerd-shim-runc-v2")
SYSCONFIG = "/etc/sysconfig/docker"

Expectation = Union[str, Callable[[Env], str]]


def profile_for(path: Path, check_ids: tuple[str, ...]) -> dict[str, str]:
    """A profile (schema 2) with one recommendation per check; returns recommendation id -> check id."""
    ids = {f"1.{n}": check for n, check in enumerate(check_ids, 1)}
    path.write_text(yaml.safe_dump({
        "id": "issue-11-host-checks", "title": "The host checks of CIS v1.6.0-v1.8.0, by check id",
        "labels": "assessment", "sections": {"1": "Host, files and daemon"},
        "recommendations": [{"id": rec, "title": check, "assessment": "automated", "level": 1, "checks": [check]}
                            for rec, check in ids.items()],
    }))
    return ids


def shim_path(name: str) -> str:
    """Where the throwaway daemon's containerd finds a shim: first on the PATH it inherits from
    dockerd, which has this test process's environment; else beside containerd."""
    found = shutil.which(name, path=os.environ.get("PATH", os.defpath))
    if found:
        return found
    beside = os.path.join(os.path.dirname(shutil.which("containerd") or "/usr/bin/containerd"), name)
    return beside if os.path.exists(beside) else ""


def unwatched(path: Callable[[Env], Any]) -> Expectation:
    """A file of the daemon under test that no rule of ours watches: whatever the machine's rules say."""
    return lambda env: audit_expectation([str(path(env))])


def containerd_socket_file(**how: Any) -> Expectation:
    """CIS 3.23 / 3.24 on the socket the daemon uses, by the benchmark's rule."""
    return lambda env: file_expectation([str(containerd_socket(env.daemon))], **how)


# What this machine decides, whatever the daemon: the defaults of every class's table.
MACHINE: dict[str, Expectation] = {
    "audit-containerd-socket": unwatched(lambda env: containerd_socket(env.daemon)),
    "audit-docker-socket-file": unwatched(lambda env: env.daemon.socket),
    "file-containerd-sock-owner": containerd_socket_file(owner=True),
    "file-containerd-sock-mode": containerd_socket_file(mode=0o660),
    "audit-run-containerd": lambda env: audit_expectation(["/run/containerd"]),
    "audit-containerd-config": lambda env: audit_expectation(["/etc/containerd/config.toml"]),
    "audit-sysconfig-docker": lambda env: audit_expectation([SYSCONFIG]),
    **{f"audit-{shim}": (lambda env, shim=shim: audit_expectation([shim_path(shim)], binaries=True)) for shim in SHIMS},
    "file-sysconfig-docker-mode": lambda env: file_expectation([SYSCONFIG], mode=0o644),
    "file-sysconfig-docker-owner": lambda env: file_expectation([SYSCONFIG], owner=True),
    "engine-storage-not-devicemapper": lambda env: "FAIL" if _driver(env) == "devicemapper" else "PASS",
    # Docker's default profile, where the kernel and the build have seccomp at all.
    "daemon-seccomp-profile": lambda env: "PASS" if "seccomp" in security_options(env) else "FAIL",
}


def _driver(env: Env) -> str:
    return env.daemon.docker("info", "-f", "{{.Driver}}").stdout.strip()


def socket_audit(env: Env) -> str:
    """The daemon's own sockets carry our watches where auditctl could add them."""
    return kernel_audit_expectation() if env.features.get("socket_audit_rules") else "FAIL"


class HostChecksContract:
    """Mixed into a configuration's test class: CHECKS maps every check of HOST_CHECKS to a status
    (or a function of the environment); MACHINE entries fill what the class leaves out."""

    CHECKS: dict[str, Expectation] = {}

    @pytest.fixture(scope="class")
    @classmethod
    def host_checks(cls, env: Env, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
        profile = tmp_path_factory.mktemp("profile") / "host-checks.yaml"
        ids = profile_for(profile, HOST_CHECKS)
        result = cli(env, "audit", "--host", env.host, "--format", "json", "--profile", str(profile))
        assert result.returncode in (0, 1), f"audit exited {result.returncode}: {result.stderr}"
        return {ids[r["id"]]: r for r in json.loads(result.stdout)["results"]}

    def check_expected(self, check_id: str, env: Env) -> str:
        entry = {**MACHINE, **self.CHECKS}[check_id]
        return entry(env) if callable(entry) else entry

    def test_check_table_covers_the_host_checks(self) -> None:
        assert set({**MACHINE, **self.CHECKS}) == set(HOST_CHECKS)

    @pytest.mark.parametrize("check_id", HOST_CHECKS)
    def test_host_check_status(self, host_checks: dict[str, dict[str, Any]], env: Env, check_id: str) -> None:
        result = host_checks[check_id]
        expected = self.check_expected(check_id, env)
        assert result["status"] == expected, (
            f"{check_id} ({env.name}): {result['status']}, expected {expected}; details: {result['details']}; "
            f"items: {[(i['resource'], i['status'], i['detail'][:120]) for i in result['items']]}")

    def test_the_containerd_socket_judged_is_the_one_the_daemon_uses(self, host_checks: dict[str, dict[str, Any]],
                                                                      env: Env) -> None:
        socket = str(containerd_socket(env.daemon))
        for check_id in ("file-containerd-sock-owner", "file-containerd-sock-mode", "audit-containerd-socket"):
            if self.check_expected(check_id, env) == "SKIP":
                continue   # not applicable here (a rootless daemon's socket is its user's)
            assert [i["resource"] for i in host_checks[check_id]["items"]] == [socket], host_checks[check_id]

    def test_the_api_socket_file_judged_is_the_daemons(self, host_checks: dict[str, dict[str, Any]], env: Env) -> None:
        assert [i["resource"] for i in host_checks["audit-docker-socket-file"]["items"]] == [str(env.daemon.socket)]
