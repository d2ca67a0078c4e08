"""The auditor's container image built for real on a throwaway dockerd, and a single-node swarm.

Nothing can be pulled here, so the image's base is a Debian root filesystem made by
deploy/image/debian-base (debootstrap from Debian's packages) and `docker import`ed, exactly as
the README's recipes say. The tarball is kept in .cache/images/ (git-ignored), so only the first
run on a machine pays for debootstrap (about a minute); later runs copy it into place, and the
recipe keeps an existing tarball.
"""
from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

from dockerd import Dockerd, Unavailable
from integration_env import free_port, run
from recipes import REPO, environ, recipe, run_sh

CACHE = REPO / ".cache" / "images"
TARBALL = "debian-python3.tar"   # the name the README's image recipe gives it
IMAGE = "docker-cis-bench"
SBIN = ":/usr/sbin:/sbin"


def require_debootstrap() -> None:
    if shutil.which("debootstrap", path=os.environ.get("PATH", "") + SBIN):
        return
    if shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if run(["apt-get", "install", "-y", "-qq", "debootstrap"], check=False, env=env).returncode != 0:
            run(["apt-get", "update", "-qq"], check=False, env=env)
            run(["apt-get", "install", "-y", "-qq", "debootstrap"], check=False, env=env)
    if not shutil.which("debootstrap", path=os.environ.get("PATH", "") + SBIN):
        raise Unavailable("debootstrap is not installed and could not be installed (apt-get install debootstrap)")


def build_image(daemon: Dockerd, repo: Path) -> dict[str, float]:
    """Run the README's wheels and image recipes in `repo` (a copy of the repository) against the
    daemon; return how long each part took (seconds)."""
    cached = CACHE / TARBALL
    timings: dict[str, float] = {}
    if cached.exists():
        shutil.copyfile(cached, repo / TARBALL)
    else:
        require_debootstrap()
    env = environ(DOCKER_HOST=daemon.host, PATH=environ()["PATH"] + SBIN)
    for name in ("wheels", "image"):
        started = time.monotonic()
        result = run_sh(recipe(name), repo, env, timeout=900)
        timings[name] = time.monotonic() - started
        if result.returncode != 0:
            raise AssertionError(f"the README's {name} recipe failed ({result.returncode}):\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        part = cached.with_name(f"{TARBALL}.{os.getpid()}.part")
        shutil.copyfile(repo / TARBALL, part)
        os.replace(part, cached)
        timings["debootstrap"] = timings["image"]
    (repo / TARBALL).unlink()
    return timings


def bridge_address(daemon: Dockerd) -> str:
    shown = run(["ip", "-4", "-o", "addr", "show", "dev", str(daemon.bridge_name)]).stdout.split()
    return shown[shown.index("inet") + 1].split("/")[0]


def remove_link(name: str) -> None:
    """A bridge dockerd made for us, and the iptables rules naming it, if they are still there."""
    if Path(f"/sys/class/net/{name}").exists():
        subprocess.run(["ip", "link", "del", name], check=False, capture_output=True)
    if not shutil.which("iptables"):
        return
    for table in ("filter", "nat"):
        listed = run(["iptables", "-w", "-t", table, "-S"], check=False).stdout
        for line in listed.splitlines():
            words = line.split()
            if len(words) > 2 and words[0] == "-A" and name in words:
                subprocess.run(["iptables", "-w", "-t", table, "-D", *words[1:]], check=False, capture_output=True)


def free_udp_port(low: int = 20000, high: int = 49151) -> int:
    """A UDP port swarm accepts for VXLAN (1024-49151) that nothing here holds."""
    for port in random.sample(range(low, high), 200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise Unavailable(f"no free UDP port in {low}-{high}")


def init_swarm(stack: contextlib.ExitStack, daemon: Dockerd) -> None:
    """Swarm mode on the throwaway daemon only: advertised on its own bridge's address, on free
    ports, with docker_gwbridge made beforehand under a bridge name of ours (swarm would otherwise
    make a host-wide `docker_gwbridge` interface that another daemon may also want)."""
    address = bridge_address(daemon)
    gateway = f"gw-{daemon.tag}"[:15]
    stack.callback(remove_link, gateway)     # after the daemon stopped, should it leave it behind
    daemon.docker("network", "create", "--driver", "bridge", "--opt", f"com.docker.network.bridge.name={gateway}",
                  "--opt", "com.docker.network.bridge.enable_icc=false",
                  "--opt", "com.docker.network.bridge.enable_ip_masquerade=true", "docker_gwbridge")
    joined = daemon.docker("swarm", "init", "--advertise-addr", address, "--listen-addr",
                           f"{address}:{free_port(address)}", "--data-path-port", str(free_udp_port()), check=False)
    if joined.returncode != 0:
        raise Unavailable(f"docker swarm init failed on the throwaway daemon: {joined.stderr.strip()[:300]}")

    def leave() -> None:
        daemon.docker("swarm", "leave", "--force", check=False)
        daemon.docker("network", "rm", "docker_gwbridge", check=False)

    stack.callback(leave)
