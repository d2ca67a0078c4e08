"""Swarm mode and the container runtime checks of CIS v1.6.0 and later (5.1, 5.27, 5.29-5.32, 7.1-7.9),
made real on a throwaway dockerd.

The daemon is audited first as it starts (swarm mode inactive: section 7 is SKIP), then the test
itself turns that daemon, and only it, into a swarm manager (`docker swarm init` with autolock, on a
loopback address of its own and free ports, so that other swarms on this machine cannot collide
with it) and adds what the checks judge: overlay networks with and without encryption, a secret, a
service that uses it, and containers that keep or break each container recommendation. A second
throwaway daemon joins as a worker. A third, in a network namespace of its own, makes a swarm with
swarm init's defaults (every interface, no autolock) where no other swarm can meet it. The audit is
the real CLI, which only reads; `swarm leave` and the harness's teardown remove everything, the data
roots and the namespace included.

Until the v1.8.0 profile ships, the checks are selected through a profile of their own written here
(CIS v1.8.0 numbering).
"""
from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from dockerd import Dockerd, docker_cli
from helpers import run_bench
from image_env import free_udp_port
from integration_env import IMAGE, start_daemon, unavailable

pytestmark = pytest.mark.integration

HEALTHY_IMAGE = "bench-busybox-health:1"
SECRET_VALUE = "s3cr3t-v4lue-never-in-a-report"

# v1.8.0 ids of the checks under test, and 2.8 (v1.11.0's 2.6), whose TCP sockets must leave the
# swarm's own (on a port of its own here) aside.
RECOMMENDATIONS = {
    "2.8": "daemon-tls-verify", "5.1": "swarm-mode-off", "5.27": "container-health-status",
    "5.29": "container-pids-limit", "5.30": "container-not-default-bridge", "5.31": "container-no-host-userns",
    "5.32": "container-no-api-socket-mount", "7.1": "swarm-manager-count", "7.2": "swarm-listen-address",
    "7.3": "swarm-overlay-encrypted", "7.4": "swarm-secrets-used", "7.5": "swarm-autolock",
    "7.6": "swarm-unlock-key-rotation", "7.7": "swarm-node-cert-expiry", "7.8": "swarm-ca-rotation",
    "7.9": "swarm-data-path-separated",
}


def _profile(path: Path) -> Path:
    recs = [{"id": rec, "title": check, "assessment": "manual", "level": 1, "automation": "automated",
             "checks": [check]} for rec, check in RECOMMENDATIONS.items()]
    path.write_text(yaml.safe_dump({
        "id": "test-swarm-1.8.0", "title": "section 5 and 7 checks of CIS v1.8.0, for this test",
        "labels": "assessment", "sections": {"2": "Daemon", "5": "Container Runtime", "7": "Swarm"},
        "recommendations": recs}))
    return path


def _free_loopback(port_count: int = 1) -> tuple[str, list[int]]:
    """A loopback address of 127/8 nobody here listens on (swarm's gossip port 7946 cannot be moved:
    each swarm on this machine needs an address of its own) and free TCP ports on it."""
    for _ in range(50):
        address = str(ipaddress.IPv4Address(f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(2, 254)}"))
        ports = [random.randint(20000, 40000) for _ in range(port_count)]
        if all(_tcp_free(address, p) for p in [7946, *ports]):
            return address, ports
    raise RuntimeError("no free loopback address for a swarm")


def _tcp_free(address: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def _audit(daemon: Dockerd, profile: Path) -> dict[str, Any]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    result = run_bench(["audit", "--format", "json", "--profile", str(profile), "--host", daemon.host, "--all"],
                       env=environ, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    assert SECRET_VALUE not in result.stdout
    return {r["id"]: r for r in json.loads(result.stdout)["results"]}


def _item(report: dict[str, Any], rec: str, resource: str) -> tuple[str, str]:
    found = [(i["status"], i["detail"]) for i in report[rec]["items"] if i["resource"] == resource]
    assert found, (rec, resource, report[rec])
    return found[0]


def _wait_for(condition: Callable[[], bool], what: str = "the swarm", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not come about within {timeout}s")


def _wait_health(daemon: Dockerd, name: str, wanted: str) -> None:
    _wait_for(lambda: daemon.docker("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip() == wanted,
              f"{name} {wanted}")


class Swarm:
    def __init__(self, manager: Dockerd, worker: Dockerd, reports: dict[str, dict[str, Any]], addresses: dict[str, str]):
        self.manager, self.worker, self.reports, self.addresses = manager, worker, reports, addresses


def _containers(daemon: Dockerd, work: Path) -> None:
    """Containers that keep or break each container recommendation (a health check is real only in a
    running container; the rest are created)."""
    build = work / "build"
    build.mkdir()
    (build / "Dockerfile").write_text(f"FROM {IMAGE}\nHEALTHCHECK --interval=1s CMD true\n")
    built = daemon.docker("build", "-q", "-t", HEALTHY_IMAGE, str(build), check=False)
    if built.returncode != 0:     # the legacy builder, where buildx is missing
        env = dict(daemon.env(), DOCKER_BUILDKIT="0")
        subprocess.run([docker_cli(), "build", "-q", "-t", HEALTHY_IMAGE, str(build)], env=env, check=True,
                       capture_output=True)
    daemon.docker("network", "create", "appnet")
    run = ("run", "-d", "--name")
    sleep = ("sleep", "100000")
    daemon.docker(*run, "kept", "--pids-limit", "64", "--network", "appnet", "--health-cmd", "true",
                  "--health-interval", "1s", IMAGE, *sleep)
    daemon.docker(*run, "plain", IMAGE, *sleep)
    daemon.docker(*run, "sick", "--network", "appnet", "--health-cmd", "false", "--health-interval", "1s",
                  "--health-retries", "1", IMAGE, *sleep)
    daemon.docker(*run, "image-health", "--network", "appnet", HEALTHY_IMAGE, *sleep)
    daemon.docker("create", "--name", "no-health", "--no-healthcheck", HEALTHY_IMAGE, *sleep)
    daemon.docker("create", "--name", "pids-zero", "--pids-limit", "0", IMAGE, *sleep)
    daemon.docker("create", "--name", "joins-plain", "--network", "container:plain", IMAGE, *sleep)
    daemon.docker("create", "--name", "joins-kept", "--network", "container:kept", IMAGE, *sleep)
    daemon.docker("create", "--name", "userns-host", "--userns", "host", IMAGE, *sleep)
    link = work / "sock-link"
    link.symlink_to(daemon.socket)
    safe = work / "safe"
    safe.mkdir()
    daemon.docker("create", "--name", "sock", "-v", f"{daemon.socket}:/var/run/docker.sock:ro", IMAGE, *sleep)
    daemon.docker("create", "--name", "sock-dir", "-v", f"{daemon.socket.parent}:/host-dir", IMAGE, *sleep)
    daemon.docker("create", "--name", "sock-link", "-v", f"{link}:/docker.sock", IMAGE, *sleep)
    # A hard link is the socket under another name: no resolution of names shows it, its inode does.
    hard = daemon.socket.parent / "hard-link.sock"
    os.link(daemon.socket, hard)
    daemon.docker("create", "--name", "sock-hard", "-v", f"{hard}:/docker.sock", IMAGE, *sleep)
    daemon.docker("create", "--name", "safe-bind", "-v", f"{safe}:/data", IMAGE, *sleep)
    _wait_health(daemon, "kept", "healthy")
    _wait_health(daemon, "sick", "unhealthy")
    _wait_health(daemon, "image-health", "healthy")


@pytest.fixture(scope="module")
def swarm(integration_host: None) -> Iterator[Swarm]:
    with contextlib.ExitStack() as stack:
        # Removed last, after the containers that bind its directories.
        work = Path(tempfile.mkdtemp(prefix="dcb-swarm-", dir="/tmp"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        profile = _profile(work / "profile.yaml")
        manager, worker = Dockerd(name="swm"), Dockerd(name="sww")
        try:
            start_daemon(stack, manager)
            start_daemon(stack, worker)
        except Exception as exc:  # DaemonDidNotStart is Unavailable; anything else is as fatal here
            unavailable(str(exc))
        manager.import_busybox(IMAGE)
        _containers(manager, work)
        reports = {"inactive": _audit(manager, profile)}

        address, (port,) = _free_loopback()
        data_path = str(manager.bridge_subnet.network_address + 1)      # on the daemon's own bridge
        pool = f"10.{random.randint(224, 239)}.0.0/16"
        stack.callback(manager.docker, "swarm", "leave", "--force", check=False)
        manager.docker("swarm", "init", "--advertise-addr", address, "--listen-addr", f"{address}:{port}",
                       "--data-path-addr", data_path, "--data-path-port", str(free_udp_port()), "--autolock",
                       "--default-addr-pool", pool)
        manager.docker("network", "create", "-d", "overlay", "--opt", "encrypted", "secure-net")
        manager.docker("network", "create", "-d", "overlay", "plain-net")
        manager.docker("secret", "create", "app_password", "-", input=SECRET_VALUE.encode())
        # No replicas: no task, so no container and no gateway bridge on this machine.
        manager.docker("service", "create", "--name", "api", "--replicas", "0", "--secret", "app_password",
                       "-e", "API_TOKEN=abc", "-e", "LOG_LEVEL=info", IMAGE, "sleep", "100000")

        worker_address, (worker_port,) = _free_loopback()
        token = manager.docker("swarm", "join-token", "-q", "worker").stdout.strip()
        stack.callback(worker.docker, "swarm", "leave", "--force", check=False)
        worker.docker("swarm", "join", "--token", token, "--advertise-addr", worker_address,
                      "--listen-addr", f"{worker_address}:{worker_port}", f"{address}:{port}")
        reports["manager"] = _audit(manager, profile)
        reports["worker"] = _audit(worker, profile)
        # Lowered after the node certificates were issued: theirs stay until renewed (last: it changes the swarm).
        manager.docker("swarm", "update", "--cert-expiry", "24h")
        reports["lowered"] = _audit(manager, profile)
        yield Swarm(manager, worker, reports, {"manager": address, "port": str(port), "data": data_path,
                                               "worker": worker_address})


# -- before the swarm: swarm mode is off, and section 7 does not apply ----------------------------------

def test_an_inactive_swarm_passes_5_1_and_skips_section_7(swarm):
    report = swarm.reports["inactive"]
    assert report["5.1"]["status"] == "PASS", report["5.1"]
    for rec in ("7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "7.7", "7.8", "7.9"):
        assert report[rec]["status"] == "SKIP", report[rec]
        assert "inactive" in report[rec]["details"]


# -- the manager ------------------------------------------------------------------------------------------

EXPECTED_MANAGER = {
    "5.1": "WARN",     # active: confirm the host needs it
    "7.1": "PASS",     # one manager
    "7.2": "PASS",     # a loopback address of its own
    "7.3": "FAIL",     # plain-net and ingress
    "7.4": "INFO",
    "7.5": "PASS",     # --autolock
    "7.6": "INFO",
    "7.7": "PASS",     # Docker's 90 days
    "7.8": "INFO",
    "7.9": "PASS",     # management on lo, data on the daemon's bridge
}


@pytest.mark.parametrize("rec,status", sorted(EXPECTED_MANAGER.items()))
def test_the_manager_is_judged_from_what_it_reports(swarm, rec, status):
    assert swarm.reports["manager"][rec]["status"] == status, swarm.reports["manager"][rec]


def test_the_manager_details_say_what_was_read(swarm):
    report, a = swarm.reports["manager"], swarm.addresses
    assert "a manager of a swarm of 2 node(s), 1 of them managers" in report["5.1"]["details"]
    assert f"dockerd listens on {a['manager']}:{a['port']}, {a['manager']}:7946" in report["7.2"]["details"]
    assert f"management port {a['port']}: docker-state.json ListenAddr" in report["7.2"]["details"]
    assert _item(report, "7.3", "secure-net")[0] == "PASS"
    assert _item(report, "7.3", "plain-net")[0] == "FAIL"
    assert "routing mesh" in _item(report, "7.3", "ingress")[1]
    assert "1 secret(s): app_password" in report["7.4"]["details"]
    assert "api (API_TOKEN)" in report["7.4"]["details"]
    assert "root CA CN=swarm-ca" in report["7.8"]["details"]
    assert f"management {a['manager']} on lo, data {a['data']} on {swarm.manager.bridge_name}" in report["7.9"]["details"]


def test_a_lowered_expiry_is_judged_with_the_node_certificate_still_in_use(swarm):
    result = swarm.reports["lowered"]["7.7"]
    assert "valid for 90 days (2160h) (set to 1 day (24h), but this node's certificate in use" in result["details"], \
        result["details"]
    assert result["status"] == "PASS", result      # 90 days in use: Docker's default, the ceiling without a policy


def test_the_swarm_port_of_its_own_is_not_taken_for_the_api(swarm):
    """dockerd holds the swarm's management port (not 2377 here) and 7946: neither is the API, which
    listens on a unix socket only."""
    assert swarm.reports["manager"]["2.8"]["status"] == "PASS", swarm.reports["manager"]["2.8"]
    assert swarm.reports["worker"]["2.8"]["status"] == "PASS", swarm.reports["worker"]["2.8"]


# -- the worker --------------------------------------------------------------------------------------------

EXPECTED_WORKER = {
    "5.1": "WARN",
    "7.1": "SKIP",     # manager-only
    "7.2": "PASS",     # gossip on its own loopback address
    "7.4": "SKIP",
    "7.5": "SKIP",
    "7.6": "SKIP",
    "7.7": "SKIP",
    "7.8": "SKIP",
    "7.9": "FAIL",     # no --data-path-addr
}


@pytest.mark.parametrize("rec,status", sorted(EXPECTED_WORKER.items()))
def test_a_worker_skips_what_only_a_manager_knows(swarm, rec, status):
    assert swarm.reports["worker"][rec]["status"] == status, swarm.reports["worker"][rec]


def test_a_worker_says_to_audit_a_manager(swarm):
    report = swarm.reports["worker"]
    assert "audit a manager" in report["7.5"]["details"]
    assert f"{swarm.addresses['worker']}:7946" in report["7.2"]["details"]
    assert "no --data-path-addr" in report["7.9"]["details"]


def test_a_worker_judges_only_the_overlay_networks_it_sees(swarm):
    """A worker lists the overlay networks its tasks use, and ingress while it is attached to it (for
    a moment after it joins, here): an unencrypted one it sees FAILs, and otherwise only a manager
    can say."""
    result = swarm.reports["worker"]["7.3"]
    if result["status"] == "SKIP":
        assert "audit a manager" in result["details"], result
    else:
        assert result["status"] == "FAIL" and [i["resource"] for i in result["items"]] == ["ingress"], result


# -- containers ---------------------------------------------------------------------------------------------

CONTAINERS = {
    ("5.27", "kept"): "PASS", ("5.27", "plain"): "FAIL", ("5.27", "sick"): "WARN",
    ("5.27", "image-health"): "PASS", ("5.27", "no-health"): "FAIL",
    ("5.29", "kept"): "PASS", ("5.29", "plain"): "FAIL", ("5.29", "pids-zero"): "FAIL",
    ("5.30", "kept"): "PASS", ("5.30", "plain"): "FAIL", ("5.30", "joins-plain"): "FAIL",
    ("5.30", "joins-kept"): "PASS",
    ("5.31", "kept"): "PASS", ("5.31", "userns-host"): "FAIL",
    ("5.32", "sock"): "FAIL", ("5.32", "sock-dir"): "FAIL", ("5.32", "sock-link"): "FAIL", ("5.32", "sock-hard"): "FAIL",
    ("5.32", "safe-bind"): "PASS", ("5.32", "kept"): "PASS",
}


@pytest.mark.parametrize("rec,name,status", [(r, n, s) for (r, n), s in sorted(CONTAINERS.items())])
def test_each_container_is_judged_as_dockerd_runs_it(swarm, rec, name, status):
    assert _item(swarm.reports["inactive"], rec, name)[0] == status, _item(swarm.reports["inactive"], rec, name)


def test_the_container_details_say_what_was_read(swarm):
    report, socket_path = swarm.reports["inactive"], str(swarm.manager.socket)
    assert "unhealthy" in _item(report, "5.27", "sick")[1]
    assert "disabled" in _item(report, "5.27", "no-health")[1]
    assert "through plain" in _item(report, "5.30", "joins-plain")[1]
    assert f"is the API socket (observed) {socket_path}" in _item(report, "5.32", "sock")[1]
    assert f"contains the API socket (observed) {socket_path}" in _item(report, "5.32", "sock-dir")[1]
    assert "under another name (the same device and inode" in _item(report, "5.32", "sock-hard")[1]
    assert "does not remap" in _item(report, "5.31", "kept")[1]



# -- a swarm on every interface, in a network namespace of its own ----------------------------------------

class NetnsDockerd(Dockerd):
    """A throwaway dockerd in a network namespace of its own (`ip netns`), with its bridge inside it:
    there a swarm may take its defaults (0.0.0.0:2377, 7946 and 4789 on every interface) without
    meeting another swarm of this machine. Its socket, data root and exec root are files in its
    directory as for any throwaway daemon; its iptables rules die with the namespace."""

    def make_network(self) -> None:
        self.netns = f"dcb-{self.tag}"
        subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True)
        self.cleanups.append(lambda: subprocess.run(["ip", "netns", "del", self.netns], check=False,
                                                    capture_output=True))
        inside = ["ip", "-n", self.netns]
        subprocess.run([*inside, "link", "set", "lo", "up"], check=True)
        subprocess.run([*inside, "link", "add", "name", self.bridge_name, "type", "bridge"], check=True)
        subprocess.run([*inside, "addr", "add", "10.99.0.1/24", "dev", self.bridge_name], check=True)
        subprocess.run([*inside, "link", "set", self.bridge_name, "up"], check=True)

    def spawn(self, argv: list[str], log: Any) -> "subprocess.Popen[bytes]":
        # nsenter enters the network namespace only (ip netns exec would also give dockerd a /sys
        # without cgroups), and execs dockerd: the process is dockerd.
        return subprocess.Popen(["nsenter", f"--net=/run/netns/{self.netns}", "--", *argv], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture(scope="module")
def wide_swarm(integration_host: None) -> Iterator[dict[str, Any]]:
    with contextlib.ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="dcb-swarm-", dir="/tmp"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        daemon = NetnsDockerd(name="swn")
        try:
            start_daemon(stack, daemon)
        except Exception as exc:
            unavailable(str(exc))
        stack.callback(daemon.docker, "swarm", "leave", "--force", check=False)
        # swarm init's defaults but the addresses it cannot guess: listen on 0.0.0.0:2377, data on
        # loopback (another address than the advertised one, on an interface this audit cannot see).
        daemon.docker("swarm", "init", "--advertise-addr", "10.99.0.1", "--data-path-addr", "127.0.0.1",
                      "--default-addr-pool", "10.98.0.0/16")
        yield _audit(daemon, _profile(work / "profile.yaml"))


def test_a_swarm_on_every_interface_fails_7_2(wide_swarm):
    assert wide_swarm["7.2"]["status"] == "FAIL", wide_swarm["7.2"]
    # Go listens on [::] for 0.0.0.0 where the host has IPv6: every interface, either way.
    wide = wide_swarm["7.2"]["details"].split("bound to every interface: ", 1)[1].split(", ")
    assert sorted(a.rsplit(":", 1)[1] for a in wide) == ["2377", "7946"], wide_swarm["7.2"]
    assert all(a.rsplit(":", 1)[0] in ("0.0.0.0", "[::]") for a in wide), wide_swarm["7.2"]
    assert wide_swarm["2.8"]["status"] == "PASS", wide_swarm["2.8"]      # 2377 and 7946 are the swarm's


def test_without_autolock_7_5_fails_and_7_6_does_not_apply(wide_swarm):
    assert wide_swarm["7.5"]["status"] == "FAIL" and "AutoLockManagers=false" in wide_swarm["7.5"]["details"]
    assert wide_swarm["7.6"]["status"] == "SKIP"


def test_interfaces_in_another_namespace_are_not_guessed(wide_swarm):
    result = wide_swarm["7.9"]
    assert result["status"] == "WARN", result
    assert "another network namespace" in result["details"]


def test_ingress_as_swarm_init_makes_it_fails_7_3(wide_swarm):
    assert wide_swarm["7.3"]["status"] == "FAIL"
    assert [i["resource"] for i in wide_swarm["7.3"]["items"]] == ["ingress"]
