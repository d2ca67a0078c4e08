"""The container image made real: built by the README's recipes from a Debian base made with
debootstrap, run with the documented mounts against a throwaway daemon, and as a Swarm global job
on a single-node swarm of that daemon. Its verdicts are compared with an audit run on the host."""
from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from dockerd import Dockerd, Unavailable
from kubernetes_pod import daemonset, docker_run
from image_env import IMAGE, build_image, init_swarm
from integration_env import IMAGE as BUSYBOX, require_environment, start_daemon, unavailable
from recipes import REPO, copy_repository, environ, recipe, run_sh, statuses_of_text

pytestmark = pytest.mark.integration

# What an audit from a container sees differently (docs/fleets.md, "Auditing from a container"):
# the details of these ids may differ; their statuses must not, on this machine.
DETAILS_DIFFER = {"1.4", "2.6", "1.7", "1.8", "1.9", "1.10", "1.11", "1.12", "1.13", "1.14", "1.15", "6.1", "6.5"}


class Imaged:
    def __init__(self, daemon: Dockerd, repo: Path, timings: dict[str, float]):
        self.daemon, self.repo, self.timings = daemon, repo, timings

    def host_audit(self) -> dict:
        result = subprocess.run([sys.executable, "-m", "bench", "--host", self.daemon.host, "--format", "json"],
                                cwd=REPO, env=environ(), capture_output=True, text=True, timeout=180)
        assert result.returncode in (0, 1), result.stderr
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def imaged() -> Iterator[Imaged]:
    try:
        require_environment()
    except Unavailable as exc:
        unavailable(str(exc))
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dcb-image-")))
        daemon = Dockerd(name="img")
        try:
            start_daemon(stack, daemon)
            repo = copy_repository(workdir / "repo")
            timings = build_image(daemon, repo)
        except Unavailable as exc:
            unavailable(str(exc))
        daemon.import_busybox(BUSYBOX)
        daemon.docker("run", "-d", "--name", "plain", BUSYBOX, "sleep", "100000")
        daemon.docker("run", "-d", "--name", "hardened", "--read-only", "--cap-drop", "ALL", "--user", "1000",
                      "--memory", "64m", "--cpu-shares", "512", "--security-opt", "no-new-privileges",
                      "--restart", "on-failure:3", "--network", "none", BUSYBOX, "sleep", "100000")
        yield Imaged(daemon, repo, timings)


def test_the_image_builds_from_debian_packages_with_no_network(imaged: Imaged) -> None:
    assert "--network none" in recipe("image")        # the build is denied a network, and still works
    version = imaged.daemon.docker("run", "--rm", "--network", "none", IMAGE, "--version").stdout
    assert version.startswith("docker-cis-bench ")
    base = imaged.daemon.docker("image", "inspect", "-f", "{{.Size}}", "docker-cis-bench-base:bookworm").stdout
    size = int(imaged.daemon.docker("image", "inspect", "-f", "{{.Size}}", IMAGE).stdout)
    assert 0 < int(base) < size < 400_000_000
    python = imaged.daemon.docker("run", "--rm", "--network", "none", "--entrypoint", "python3", IMAGE,
                                  "-c", "import sys; print(sys.version_info[:2])").stdout
    assert python.strip() == "(3, 11)"      # Debian 12's, as the wheels recipe assumes


def _compare(container: dict[str, str], host: dict, shown: str = "") -> None:
    """The same status for every recommendation; `shown` (the container's report) explains a difference."""
    host_statuses = {r["id"]: r["status"] for r in host["results"]}
    assert len(container) == len(host_statuses) == 83 and set(container) == set(host_statuses)
    differing = {i: (container[i], host_statuses[i], next(r["details"] for r in host["results"] if r["id"] == i))
                 for i in container if container[i] != host_statuses[i]}
    assert not differing, (differing, [line for line in shown.splitlines() if line.split()[:1] in
                                       [[i] for i in differing]])


def test_docker_run_with_the_documented_mounts_audits_the_host_as_the_host_does(imaged: Imaged) -> None:
    env = environ(DOCKER_HOST=imaged.daemon.host, DOCKER_SOCKET=str(imaged.daemon.socket))
    result = run_sh(recipe("container"), imaged.repo, env, timeout=300)
    assert result.returncode == 1, result.stderr       # plain breaks scored recommendations
    assert "Traceback" not in result.stderr
    host = imaged.host_audit()
    assert f"Host {host['host']['hostname']}, Docker {host['host']['docker_version']}" in result.stdout
    _compare(statuses_of_text(result.stdout), host, result.stdout)
    # The auditor's own container shares the host's network and PID namespaces and mounts /: left
    # out by --exclude, it breaks none of these.
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line[:1].isdigit()}
    for rec_id in ("5.5", "5.9", "5.15"):
        assert rows[rec_id].split()[1] == "PASS", rows[rec_id]
    # 4.1's offenders follow its row (the text report lists them under it).
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("4.1 "))
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1].isdigit() or not lines[i].strip()), len(lines))
    block = "\n".join(lines[start:end])
    assert "plain" in block and "hardened" not in block, block


@pytest.fixture(scope="module")
def swarm(imaged: Imaged) -> Iterator[Dockerd]:
    """The image's daemon as a single-node swarm, for the module's remaining tests."""
    with contextlib.ExitStack() as stack:
        try:
            init_swarm(stack, imaged.daemon)
        except Unavailable as exc:
            unavailable(str(exc))
        yield imaged.daemon


def test_a_swarm_global_job_audits_every_node_and_merges(imaged: Imaged, swarm: Dockerd, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    env = environ(DOCKER_HOST=swarm.host, DOCKER_SOCKET=str(swarm.socket), REPORTS=str(reports))
    runs = []
    for night in (1, 2):    # the recipe repeats: the service is removed, the report replaced
        result = run_sh(recipe("swarm"), imaged.repo, env, timeout=300)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert swarm.docker("service", "ls", "-q").stdout.split() == []
        runs.append(result.stdout)
    node = imaged.host_audit()["host"]["hostname"]
    assert [p.name for p in reports.iterdir()] == [f"{node}.json"]
    for stdout in runs:
        assert stdout.count(f"{node}: Complete") == 1      # the docker service ps line
        assert "1 host: 1 audited\n" in stdout and "unreachable" not in stdout
    report = json.loads((reports / f"{node}.json").read_text())
    host = imaged.host_audit()
    _compare({r["id"]: r["status"] for r in report["results"]}, host)
    # Beyond the statuses, only what the docs say differs does.
    details = {r["id"]: r["details"] for r in host["results"]}
    differing = {r["id"] for r in report["results"] if r["details"] != details[r["id"]]}
    assert differing <= DETAILS_DIFFER, {i: ([r["details"] for r in report["results"] if r["id"] == i], details[i])
                                         for i in differing - DETAILS_DIFFER}
    names = {i["resource"] for r in report["results"] for i in r.get("items") or []}
    assert "plain" in names and not any(n.startswith("docker-cis-bench.") for n in names)


def test_a_node_whose_swarm_task_fails_is_listed_by_the_merge(imaged: Imaged, swarm: Dockerd, tmp_path: Path) -> None:
    # Yesterday's report is there; today the node's task cannot start (its socket path does not
    # exist there): the merge lists the node as not audited, with swarm's reason, and does not
    # count yesterday's findings as today's.
    reports = tmp_path / "reports"
    reports.mkdir()
    node = imaged.host_audit()["host"]["hostname"]
    yesterday = imaged.host_audit()
    yesterday["started_at"] = "2026-01-01T03:15:00+00:00"
    (reports / f"{node}.json").write_text(json.dumps(yesterday))
    env = environ(DOCKER_HOST=swarm.host, DOCKER_SOCKET=str(tmp_path / "no.sock"), REPORTS=str(reports),
                  TIMEOUT="120")
    result = run_sh(recipe("swarm"), imaged.repo, env, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert swarm.docker("service", "ls", "-q").stdout.split() == []
    assert "1 host: 0 audited, 1 unreachable" in result.stdout
    unreachable = result.stdout.split("Unreachable hosts (no report)")[1]
    assert node in unreachable and "swarm task" in unreachable
    marker = json.loads((reports / f"{node}.unreachable.json").read_text())
    assert marker["unreachable"]["hostname"] == node and marker["unreachable"]["reason"].startswith("swarm task ")
    assert "No recommendation fails on any host." in result.stdout


def test_the_kubernetes_pod_audits_its_node_with_only_the_privileges_it_is_given(imaged: Imaged, tmp_path: Path) -> None:
    # No Kubernetes here: the DaemonSet's container is run as its pod spec says (host network, no
    # host PID namespace, user 0 with every capability dropped but DAC_READ_SEARCH, a read-only
    # root file system, no privilege escalation, the documented mounts), under the name the
    # kubelet gives it, so its exclusion pattern is tried too.
    reports = tmp_path / "reports"
    reports.mkdir()
    node = imaged.host_audit()["host"]["hostname"]
    name = "k8s_audit_docker-cis-bench-x7k2p_docker-cis-bench_0b5e8a4c-1d2f-4e6a-9b3c-5d7e8f9a0b1c_0"
    argv = docker_run(daemonset()["spec"]["template"]["spec"], image=IMAGE, name=name, node=node,
                      host_paths={"/var/run/docker.sock": str(imaged.daemon.socket),
                                  "/var/lib/docker-cis-bench": str(reports)})
    imaged.daemon.docker(*argv)
    try:
        deadline = time.monotonic() + 180
        while not (reports / f"{node}.json").exists():
            state = imaged.daemon.docker("inspect", "-f", "{{.State.Status}}", name).stdout.strip()
            assert state == "running" and time.monotonic() < deadline, imaged.daemon.docker("logs", name).stderr[-2000:]
            time.sleep(1)
        # The pod sleeps until its next audit: it did not exit, and said nothing on failure.
        assert imaged.daemon.docker("inspect", "-f", "{{.State.Status}}", name).stdout.strip() == "running"
        logs = imaged.daemon.docker("logs", name)
        assert "Traceback" not in logs.stdout + logs.stderr
    finally:
        imaged.daemon.docker("rm", "-f", name, check=False)
    report = json.loads((reports / f"{node}.json").read_text())
    _compare({r["id"]: r["status"] for r in report["results"]}, imaged.host_audit())
    names = {i["resource"] for r in report["results"] for i in r.get("items") or []}
    assert "plain" in names and name not in names     # its own container left out
