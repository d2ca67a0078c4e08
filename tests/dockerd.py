"""A throwaway dockerd for integration tests and speed measurements (perf/).

Each daemon gets its own socket, data-root, exec-root, pidfile and config file under a temporary
directory, and its own bridge (or none), so it never touches another daemon, its containers or
docker0. `stop()` removes what it made: its containers, its bridge, its directory.

Nothing here is used by the auditor itself.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Optional

APT_PACKAGES = ("docker.io", "busybox-static")


class Unavailable(Exception):
    """This machine cannot run a throwaway dockerd; the message says why."""


def require_dockerd(install: bool = True) -> str:
    """Path of dockerd, installing Debian's docker.io when it is missing and we are root."""
    if os.geteuid() != 0:
        raise Unavailable("a throwaway dockerd needs root")
    found = shutil.which("dockerd")
    if not found and install and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *APT_PACKAGES], env=env, check=False, capture_output=True)
        found = shutil.which("dockerd")
    if not found:
        raise Unavailable("dockerd is not installed and could not be installed (apt-get install docker.io)")
    return found


def busybox_path() -> str:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(candidate):
            return candidate
    raise Unavailable("busybox-static is not installed")


def docker_cli() -> str:
    # Debian's client matches Debian's daemon; any newer client negotiates the API version down.
    for candidate in ("/usr/bin/docker", shutil.which("docker") or ""):
        if candidate and os.path.exists(candidate):
            return candidate
    raise Unavailable("no docker client")


class Dockerd:
    def __init__(self, *, args: Optional[list[str]] = None, daemon_json: Optional[dict[str, Any]] = None,
                 bridge: bool = False, name: str = "t", workdir: Optional[Path] = None):
        self.tag = f"{name}{uuid.uuid4().hex[:6]}"
        # Unix socket paths are limited to 108 bytes: keep the directory short.
        self.dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=f"dcb-{self.tag}-", dir="/tmp"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket = self.dir / "d.sock"
        self.data_root = self.dir / "data"
        self.exec_root = self.dir / "x"
        self.pidfile = self.dir / "d.pid"
        self.config_file = self.dir / "daemon.json"
        self.log_path = self.dir / "dockerd.log"
        self.extra_args = list(args or [])
        self.daemon_json = daemon_json or {}
        self.bridge_name = f"br-{self.tag}"[:15] if bridge else None
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.cleanups: list[Any] = []

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def argv(self, dockerd: str) -> list[str]:
        argv = [dockerd, "--host", self.host, "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
                "--pidfile", str(self.pidfile), "--config-file", str(self.config_file)]
        if self.bridge_name:
            argv += ["--bridge", self.bridge_name]
        elif not any(a.startswith(("--bridge", "-b")) for a in self.extra_args) and "bridge" not in self.daemon_json:
            argv.append("--bridge=none")
        return argv + self.extra_args

    def start(self, timeout: float = 60.0) -> "Dockerd":
        dockerd = require_dockerd()
        self.config_file.write_text(json.dumps(self.daemon_json))
        if self.bridge_name:
            self._make_bridge()
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.argv(dockerd), stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                # Read the log before stop() removes the directory it is in; stop() also removes
                # the bridge made above.
                message = f"dockerd exited with {self.process.returncode}:\n{self.log_tail()}"
                self.stop()
                raise RuntimeError(message)
            if self.socket.exists() and self.docker("version", check=False).returncode == 0:
                return self
            time.sleep(0.2)
        message = f"dockerd did not answer within {timeout}s:\n{self.log_tail()}"
        self.stop()
        raise RuntimeError(message)

    def _make_bridge(self) -> None:
        # A /24 in 10.200-254.x.0 picked from the tag; collisions only matter between our own bridges.
        octet = 200 + int(self.tag[-2:], 16) % 50
        third = int(self.tag[-4:-2], 16)
        subprocess.run(["ip", "link", "add", "name", self.bridge_name, "type", "bridge"], check=True)
        self.cleanups.append(lambda: subprocess.run(["ip", "link", "del", self.bridge_name], check=False,
                                                    capture_output=True))
        self.bridge_subnet = f"10.{octet}.{third}.0/24"
        # dockerd leaves its iptables rules for the bridge behind when it stops: remove them
        # (cleanups run in reverse, so this runs before the bridge is deleted).
        self.cleanups.append(self._remove_iptables_rules)
        subprocess.run(["ip", "addr", "add", f"10.{octet}.{third}.1/24", "dev", self.bridge_name], check=True)
        subprocess.run(["ip", "link", "set", self.bridge_name, "up"], check=True)

    def _remove_iptables_rules(self) -> None:
        """Delete the rules that name this daemon's bridge or subnet (and no others)."""
        if not shutil.which("iptables") or not self.bridge_name:
            return
        for table in ("filter", "nat"):
            listed = subprocess.run(["iptables", "-w", "-t", table, "-S"], capture_output=True, text=True,
                                    check=False)
            for line in listed.stdout.splitlines():
                words = shlex.split(line)
                if len(words) < 3 or words[0] != "-A":
                    continue
                if self.bridge_name in words or getattr(self, "bridge_subnet", None) in words:
                    subprocess.run(["iptables", "-w", "-t", table, "-D", *words[1:]], capture_output=True,
                                   check=False)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["DOCKER_HOST"] = self.host
        return env

    def docker(self, *args: str, check: bool = True, input: Optional[bytes] = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
        raw = subprocess.run([docker_cli(), *args], env=self.env(), capture_output=True, timeout=timeout,
                             input=input)
        result = subprocess.CompletedProcess(raw.args, raw.returncode, raw.stdout.decode("utf-8", "replace"),
                                             raw.stderr.decode("utf-8", "replace"))
        if check and result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def import_busybox(self, tag: str = "bench-busybox:1") -> str:
        """A minimal image from the host's busybox-static (nothing can be pulled here)."""
        busybox = busybox_path()
        with tempfile.TemporaryDirectory(prefix="dcb-rootfs-") as root:
            bin_dir = Path(root, "bin")
            bin_dir.mkdir()
            shutil.copy2(busybox, bin_dir / "busybox")
            for applet in ("sh", "sleep", "cat", "ls", "id", "ps", "true", "env", "nc"):
                os.symlink("busybox", bin_dir / applet)
            for extra in ("etc", "tmp", "usr/sbin", "proc", "sys", "dev"):
                Path(root, extra).mkdir(parents=True, exist_ok=True)
            Path(root, "etc/passwd").write_text("root:x:0:0:root:/:/bin/sh\napp:x:1000:1000:app:/:/bin/sh\n")
            Path(root, "etc/group").write_text("root:x:0:\napp:x:1000:\n")
            tar = subprocess.run(["tar", "-C", root, "-c", "."], capture_output=True, check=True)
            self.docker("import", "-", tag, input=tar.stdout)
        return tag

    def container_ids(self) -> list[str]:
        out = self.docker("ps", "-aq", "--no-trunc", check=False).stdout
        return [line for line in out.split() if line]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            ids = self.container_ids()
            if ids:
                self.docker("rm", "-f", *ids, check=False, timeout=300)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        self._unmount_leftovers()
        for cleanup in reversed(self.cleanups):
            cleanup()
        self.cleanups.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _unmount_leftovers(self) -> None:
        """dockerd unmounts its layers on a clean stop; after a crash, do it for it."""
        try:
            mounts = Path("/proc/self/mountinfo").read_text().splitlines()
        except OSError:
            return
        ours = sorted({line.split()[4] for line in mounts if str(self.dir) in line.split()[4]}, key=len, reverse=True)
        for target in ours:
            subprocess.run(["umount", "-l", target], check=False, capture_output=True)

    def __enter__(self) -> "Dockerd":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
