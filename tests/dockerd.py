"""A throwaway dockerd for integration tests and speed measurements (perf/).

Each daemon gets its own socket, data-root, exec-root, pidfile and config file under a temporary
directory, and a bridge of its own (`dcb-...`, on a /24 that no interface, route or iptables rule
of this machine uses when it is made), so it never touches another daemon, its containers or
docker0. There is no "no bridge" option: dockerd started with `--bridge=none` deletes the host's
docker0, and every other daemon's new containers on the default bridge fail until it restarts.
`stop()` removes what it made: its containers and networks, its bridge and the iptables rules that
name it, its directory; `start()` does the same when the daemon does not come up.

Nothing here is used by the auditor itself.
"""
from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Iterator, Optional

APT_PACKAGES = ("docker.io", "busybox-static")
# Where the daemons' bridges take their /24s from: a corner of 10/8, then the range set aside for
# testing network equipment (RFC 2544), for hosts that route all of 10/8 elsewhere.
BRIDGE_POOLS = ("10.200.0.0/13", "198.18.0.0/15")
# Options that would give a daemon another bridge than its own (docker0, or none: see above).
BRIDGE_FLAGS = ("--bridge", "-b")
# Daemons starting at the same moment (other test runs on this machine) race to create the
# iptables chains they share; the loser exits with this, and is started again (STARTS times at most).
# What two daemons setting up their iptables chains at the same moment meet: one made the rule the
# other is making, or removed the one it is removing.
IPTABLES_RACE = re.compile(r"iptables.*(File exists|already exists|Bad rule|does a matching rule exist|"
                           r"No chain/target/match|xtables lock)")
STARTS = 3


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


def ip_json(*args: str) -> list[dict[str, Any]]:
    listed = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True)
    return json.loads(listed.stdout or "[]")


def _network_of(word: str) -> Optional[ipaddress.IPv4Network]:
    """The IPv4 network or address a word of a route or an iptables rule names (10.1.2.3:80 too)."""
    with contextlib.suppress(ValueError):
        return ipaddress.IPv4Network(word.split(":", 1)[0] if word.count(":") == 1 else word, strict=False)
    return None


def networks_in_use(except_link: Optional[str] = None) -> list[ipaddress.IPv4Network]:
    """Every IPv4 network this machine uses: interface addresses, routes (but the default one), and
    those the iptables rules name (a daemon that died leaves its rules behind: never take its subnet,
    so that removing this daemon's rules can never remove another's)."""
    used = []
    for link in ip_json("-4", "addr", "show"):
        if link.get("ifname") == except_link:
            continue
        for address in link.get("addr_info", []):
            used.append(ipaddress.IPv4Interface(f"{address['local']}/{address['prefixlen']}").network)
    for route in ip_json("-4", "route", "show", "table", "all"):
        if route.get("dev") == except_link or route.get("dst") in (None, "default"):
            continue
        network = _network_of(route["dst"])
        if network is not None:
            used.append(network)
    for words in iptables_rules():
        used += [n for n in map(_network_of, words[2:]) if n is not None and n.prefixlen > 0]
    return used


def iptables_rules() -> Iterator[list[str]]:
    """The rules (`-A CHAIN ...`, as words) of the filter and nat tables; none without iptables."""
    if not shutil.which("iptables"):
        return
    for table in ("filter", "nat"):
        listed = subprocess.run(["iptables", "-w", "-t", table, "-S"], capture_output=True, text=True, check=False)
        for line in listed.stdout.splitlines():
            words = shlex.split(line)
            if len(words) >= 3 and words[0] == "-A":
                yield [table, *words[1:]]


def free_subnet(used: list[ipaddress.IPv4Network], pools: tuple[str, ...] = BRIDGE_POOLS,
                rng: Optional[random.Random] = None) -> Optional[ipaddress.IPv4Network]:
    """A /24 that overlaps none of `used`: from the first pool that has one, picked at random (None:
    all are taken)."""
    for pool in pools:
        candidates = list(ipaddress.IPv4Network(pool).subnets(new_prefix=24))
        (rng or random).shuffle(candidates)
        found = next((c for c in candidates if not any(c.overlaps(u) for u in used)), None)
        if found is not None:
            return found
    return None


@contextlib.contextmanager
def network_lock(name: str, timeout: float = 300.0) -> Iterator[None]:
    """Hold an exclusive lock over this machine's network: an abstract unix socket, which only one
    process can bind. Test runs that share no /tmp (each engineer's sandbox) share the network
    namespace, its interfaces and iptables, and with it this name; the kernel releases it when the
    holder exits, however it exits."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                sock.bind(f"\0docker-cis-bench-{name}")
                break
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.05, 0.25))
        yield
    finally:
        sock.close()


def terminate(process: "subprocess.Popen[bytes]", grace: float, group: bool = False) -> None:
    """SIGTERM, then SIGKILL (to its whole process group when group) if it has not exited in grace s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
        process.wait(timeout=10)


def wait_until_answering(daemon: Any, process: "subprocess.Popen[bytes]", timeout: float, name: str) -> None:
    """Until the daemon's socket answers `docker version`; RuntimeError with the end of its log when
    the process (name: what it is to a reader) exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{daemon.log_tail()}")
        listening = daemon.listening() if hasattr(daemon, "listening") else daemon.socket.exists()
        if listening and daemon.docker("version", check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer within {timeout}s:\n{daemon.log_tail()}")


class Dockerd:
    """One throwaway daemon (see the module's docstring); start() it, or use it as a context manager."""

    def __init__(self, *, args: Optional[list[str]] = None, daemon_json: Optional[dict[str, Any]] = None,
                 name: str = "t", workdir: Optional[Path] = None):
        suffix = uuid.uuid4().hex[:6]
        self.tag = f"{name}{suffix}"
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
        # Interface names have at most 15 characters: keep the random part whole.
        self.bridge_name = f"dcb-{name[:5]}{suffix}"
        self.bridge_subnet: Optional[ipaddress.IPv4Network] = None
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.cleanups: list[Any] = []

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def argv(self, dockerd: str) -> list[str]:
        argv = [dockerd, "--host", self.host, "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
                "--pidfile", str(self.pidfile), "--config-file", str(self.config_file)]
        return argv + self.bridge_args() + self.extra_args

    def bridge_args(self) -> list[str]:
        """The options that give dockerd its network: the bridge made for it."""
        return ["--bridge", self.bridge_name]

    def make_network(self) -> None:
        """Make what bridge_args() names, registering its removal before anything else."""
        self._make_bridge()

    def _refuse_other_bridges(self) -> None:
        named = [a for a in self.extra_args if a.split("=", 1)[0] in BRIDGE_FLAGS]
        if named or "bridge" in self.daemon_json:
            raise ValueError(f"a throwaway dockerd has a bridge of its own ({self.bridge_name}); "
                             f"{named or 'daemon.json bridge'} would give it docker0 or none, and "
                             "--bridge=none deletes the host's docker0")

    def start(self, timeout: float = 60.0) -> "Dockerd":
        """Start the daemon and wait until it answers; when it does not, remove what was made and raise
        RuntimeError with the end of its log."""
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        self._refuse_other_bridges()
        dockerd = require_dockerd()
        self.config_file.write_text(json.dumps(self.daemon_json))
        self.make_network()
        for attempt in range(1, STARTS + 1):
            log = open(self.log_path, "wb")
            self.process = self.spawn(self.argv(dockerd), log)
            log.close()
            try:
                # (start() stops the daemon only after the message, with the end of its log, is made.)
                wait_until_answering(self, self.process, timeout, "dockerd")
                return
            except RuntimeError:
                if attempt == STARTS or self.process.poll() is None or not IPTABLES_RACE.search(self.log_tail()):
                    raise
            time.sleep(random.uniform(0.2, 1.0))

    def spawn(self, argv: list[str], log: Any) -> "subprocess.Popen[bytes]":
        """Run the daemon's command (a subclass may start it another way: socket-activated, elsewhere)."""
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)

    def _make_bridge(self) -> None:
        made = subprocess.run(["ip", "link", "add", "name", self.bridge_name, "type", "bridge"], capture_output=True,
                              text=True, check=False)
        if made.returncode != 0:
            # Not registered for removal: a bridge of that name that is not ours is left alone.
            raise RuntimeError(f"cannot add bridge {self.bridge_name}: {made.stderr.strip()}")
        self.cleanups.append(lambda: subprocess.run(["ip", "link", "del", self.bridge_name], check=False,
                                                    capture_output=True))
        # dockerd leaves its iptables rules for the bridge behind when it stops: remove them
        # (cleanups run in reverse, so this runs before the bridge is deleted).
        self.cleanups.append(self._remove_iptables_rules)
        self.bridge_subnet = self._claim_subnet()
        subprocess.run(["ip", "link", "set", self.bridge_name, "up"], check=True)

    def _claim_subnet(self, attempts: int = 8) -> ipaddress.IPv4Network:
        """Put a /24 that nothing on this machine uses on the bridge. Choosing and claiming happen under
        a lock that every run of this harness takes (network_lock); a daemon started some other way at
        the same moment could still take the same /24, so it is looked for afterwards and the choice
        made again."""
        for _ in range(attempts):
            with network_lock("bridge-subnets"):
                subnet = free_subnet(networks_in_use(except_link=self.bridge_name))
                if subnet is None:
                    raise Unavailable(f"no /24 in {', '.join(BRIDGE_POOLS)} is free on this machine for a bridge")
                address = f"{subnet.network_address + 1}/{subnet.prefixlen}"
                subprocess.run(["ip", "addr", "add", address, "dev", self.bridge_name], check=True)
                if not any(subnet.overlaps(n) for n in networks_in_use(except_link=self.bridge_name)):
                    return subnet
                subprocess.run(["ip", "addr", "del", address, "dev", self.bridge_name], check=False,
                               capture_output=True)
            time.sleep(random.uniform(0.05, 0.5))
        raise RuntimeError(f"no free /24 for {self.bridge_name} after {attempts} attempts: others kept taking them")

    def owns_rule(self, words: list[str]) -> bool:
        """Whether an iptables rule (as words) names this daemon's bridge or an address on its subnet."""
        if self.bridge_name in words:
            return True
        if self.bridge_subnet is None:
            return False
        return any(n is not None and n.subnet_of(self.bridge_subnet) for n in map(_network_of, words))

    def _remove_iptables_rules(self) -> None:
        """Delete the rules that name this daemon's bridge or subnet (and no others: no other rule
        named that subnet when it was chosen)."""
        for table, *rule in iptables_rules():
            if self.owns_rule(rule):
                subprocess.run(["iptables", "-w", "-t", table, "-D", *rule], capture_output=True, check=False)

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
            # dockerd keeps the bridges (and iptables rules) of networks made on it when it stops.
            self.docker("network", "prune", "-f", check=False)
            terminate(self.process, grace=30)
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
