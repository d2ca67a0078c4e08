"""Container settings read as dockerd and runc read them, made real on a throwaway dockerd: each
remediation PASSes and each spelling of a violation FAILs, and where the kernel can say what dockerd
made of a setting (the bounding set, the uid, the device cgroup), the reading agrees with it.

Containers are created (and, where nothing privileged is needed, run) with the setting under test;
the audit is the real CLI with --all. Two facts the collector does not record yet (volume options,
host path resolution) are added to a recorded facts file as `docker volume inspect` and the host's
realpath give them, and that file is audited too.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from bench.container_values import effective_capabilities
from dockerd import Dockerd
from helpers import run_bench
from integration_env import IMAGE, free_port, start_daemon, unavailable

pytestmark = pytest.mark.integration

IDS = ("4.1", "5.3", "5.5", "5.7", "5.8", "5.13", "5.17")
TOOR_IMAGE = "bench-busybox-toor:1"

# Bit numbers of capabilities(7), to read CapBnd of /proc/<pid>/status.
CAP_BITS = ("CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE "
            "NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT "
            "SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE "
            "AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ "
            "PERFMON BPF CHECKPOINT_RESTORE").split()

# name -> (run it?, docker options, {recommendation: expected item status}). 5.17 is not scored in
# the 1.11.0 profile: its violations read WARN.
CONTAINERS: dict[str, tuple[bool, tuple[str, ...], dict[str, str]]] = {
    "remedy": (True, ("--user", "1000", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE",
                      "-p", "127.0.0.1::8080"),
               {"4.1": "PASS", "5.3": "PASS", "5.5": "PASS", "5.7": "PASS", "5.8": "INFO", "5.13": "PASS",
                "5.17": "PASS"}),
    "user-00": (True, ("--user", "00"), {"4.1": "FAIL"}),
    "user-plus0": (False, ("--user", "+0:0"), {"4.1": "FAIL"}),
    "user-app": (True, ("--user", "app"), {"4.1": "PASS"}),
    "user-toor": (True, ("--user", "toor"), {"4.1": "FAIL"}),       # a name the image maps to uid 0
    "caps-both": (True, ("--cap-add", "net_admin", "--cap-drop", "NET_ADMIN", "--cap-drop", "chown"), {"5.3": "FAIL"}),
    "caps-chown": (True, ("--cap-add", "CHOWN"), {"5.3": "PASS"}),
    "caps-all": (False, ("--cap-add", "ALL", "--cap-drop", "ALL"), {"5.3": "FAIL"}),
    "port-range-low": (False, ("-p", "80-81:80-81"), {"5.7": "FAIL", "5.13": "FAIL"}),
    "port-range-1000": (False, ("-p", "1000-1100:8080"), {"5.7": "FAIL", "5.8": "INFO"}),
    "port-v6-loopback": (False, ("-p", "[::1]:{port}:80"), {"5.7": "PASS", "5.13": "PASS"}),
    "port-host-net": (False, ("--network", "host", "-p", "80:80"), {"5.7": "PASS", "5.8": "PASS", "5.13": "PASS"}),
    "dev-rule": (False, ("--device-cgroup-rule", "c *:* rwm"), {"5.17": "WARN"}),
    "dev-rule-a": (True, ("--device-cgroup-rule", "a 1:3 m"), {"5.17": "WARN"}),
    "dev-mknod": (False, ("--device-cgroup-rule", "c *:* m"), {"5.17": "PASS"}),
    "bind-slashes": (False, ("-v", "//etc:/host-etc"), {"5.5": "FAIL"}),
    "bind-bin": (False, ("-v", "/bin:/hostbin"), {}),
    "vol-etc": (False, ("-v", "vetc:/host-etc"), {}),
}


@pytest.fixture(scope="module")
def daemon(integration_host: None) -> Iterator[Dockerd]:
    with contextlib.ExitStack() as stack:
        daemon = Dockerd(name="cv")
        try:
            start_daemon(stack, daemon)
        except Exception as exc:  # DaemonDidNotStart is Unavailable; anything else is as fatal here
            unavailable(str(exc))
        daemon.import_busybox(IMAGE)
        # An image whose /etc/passwd maps a second name to uid 0, as some images do.
        daemon.docker("run", "--name", "make-toor", IMAGE, "sh", "-c", "echo toor:x:0:0::/:/bin/sh >> /etc/passwd")
        daemon.docker("commit", "make-toor", TOOR_IMAGE)
        daemon.docker("rm", "make-toor")
        daemon.docker("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", "device=/etc", "vetc")
        port = str(free_port())
        for name, (run, options, _) in CONTAINERS.items():
            image = TOOR_IMAGE if name == "user-toor" else IMAGE
            argv = [o.replace("{port}", port) for o in options]
            verb = ["run", "-d"] if run else ["create"]
            daemon.docker(*verb, "--name", name, *argv, image, "sleep", "100000")
        yield daemon


def _audit(*args: str) -> dict[str, dict[str, Any]]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    result = run_bench(["audit", "--format", "json", "--check", ",".join(IDS), *args], env=environ, timeout=180)
    assert result.returncode in (0, 1), result.stderr
    return {r["id"]: r for r in json.loads(result.stdout)["results"]}


def _items(report: dict[str, dict[str, Any]]) -> dict[tuple[str, str], tuple[str, str]]:
    return {(rec, i["resource"]): (i["status"], i["detail"]) for rec, r in report.items() for i in r["items"]}


@pytest.fixture(scope="module")
def items(daemon: Dockerd) -> dict[tuple[str, str], tuple[str, str]]:
    return _items(_audit("--host", daemon.host, "--all"))


@pytest.mark.parametrize("name,rec,status", [(n, r, s) for n, (_, _, e) in CONTAINERS.items() for r, s in e.items()])
def test_each_container_is_judged_as_dockerd_reads_it(items, name, rec, status):
    assert items[(rec, name)][0] == status, items[(rec, name)]


def test_the_details_say_what_was_read(items):
    assert "within Docker's default set: NET_BIND_SERVICE" in items[("5.3", "remedy")][1]
    assert "(--cap-add CHOWN: already in the default set)" in items[("5.3", "caps-chown")][1]
    assert "beyond Docker's default set: NET_ADMIN" in items[("5.3", "caps-both")][1]
    assert "user app (uid 1000 in the container, as the kernel reports)" == items[("4.1", "user-app")][1]
    assert "kernel reports its main process runs as uid 0" in items[("4.1", "user-toor")][1]
    assert "*:80->80/tcp" in items[("5.7", "port-range-low")][1]
    assert "may take 1000-1023" in items[("5.7", "port-range-1000")][1]
    assert "discards published ports" in items[("5.7", "port-host-net")][1]
    assert "grants read, write, mknod on every character device" in items[("5.17", "dev-rule")][1]
    assert "every host device" in items[("5.17", "dev-rule-a")][1]
    assert "/etc -> /host-etc" in items[("5.5", "bind-slashes")][1]


def test_a_volume_whose_options_were_not_recorded_is_never_a_pass(items):
    status, detail = items[("5.5", "vol-etc")]
    assert status in ("ERROR", "FAIL"), detail   # FAIL once the collector records volume options


def _pid(daemon: Dockerd, name: str) -> int:
    return int(daemon.docker("inspect", "-f", "{{.State.Pid}}", name).stdout)


def _status_field(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.mark.parametrize("name", ["remedy", "caps-both", "caps-chown", "user-app"])
def test_the_computed_bounding_set_is_the_kernels(daemon, name):
    inspect = json.loads(daemon.docker("inspect", name).stdout)[0]["HostConfig"]
    bits = int(_status_field(_pid(daemon, name), "CapBnd"), 16)
    kernel = {f"CAP_{cap}" for i, cap in enumerate(CAP_BITS) if bits >> i & 1}
    assert effective_capabilities(inspect["CapAdd"], inspect["CapDrop"], False).granted == kernel


@pytest.mark.parametrize("name,uid", [("user-00", "0"), ("user-app", "1000"), ("user-toor", "0"), ("remedy", "1000")])
def test_the_kernel_agrees_on_the_uid(daemon, name, uid):
    assert _status_field(_pid(daemon, name), "Uid").split()[1] == uid


def test_a_type_a_rule_opens_every_device(daemon):
    container_id = daemon.docker("inspect", "-f", "{{.Id}}", "dev-rule-a").stdout.strip()
    lists = list(Path("/sys/fs/cgroup/devices").glob(f"**/*{container_id}*/devices.list"))
    if not lists:
        pytest.skip("no cgroup v1 devices controller here to read the rule back from")
    assert lists[0].read_text().split("\n")[0] == "a *:* rwm"


def test_recorded_facts_with_volume_options_and_resolved_paths(daemon, tmp_path):
    facts_file = tmp_path / "facts.json"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    recorded = run_bench(["record", "--host", daemon.host, "--all", "-o", str(facts_file)], env=environ, timeout=180)
    assert recorded.returncode == 0, recorded.stderr
    facts = json.loads(facts_file.read_text())
    containers = facts["containers"]
    # The collector records the volume's inspect body, its driver options included, and each bind
    # source as the host resolves it.
    assert containers["volumes"]["vetc"]["Options"] == {"type": "none", "o": "bind", "device": "/etc"}
    for item in containers["items"]:
        for mount in item["inspect"].get("Mounts") or []:
            if mount.get("Type") == "bind":
                assert containers["resolved_paths"][mount["Source"]] == os.path.realpath(mount["Source"])
    items = _items(_audit("--facts", str(facts_file)))
    assert items[("5.5", "vol-etc")] == ("FAIL", "read-write: /etc (volume vetc) -> /host-etc")
    if os.path.realpath("/bin") != "/bin":      # a merged-/usr host: /bin is /usr/bin
        assert items[("5.5", "bind-bin")] == ("FAIL", f"read-write: /bin (= {os.path.realpath('/bin')}) -> /hostbin")
    else:
        assert items[("5.5", "bind-bin")][0] == "PASS"
