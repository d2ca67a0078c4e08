"""dockerd started in a private mount and network namespace, to watch what it does with a command
line and a daemon.json: whether it starts, where it listens, how it answers.

Inside `unshare --mount --net`, /run is a fresh tmpfs and the network has only loopback and a bridge
made for the daemon, so dockerd may use its defaults (/var/run/docker.sock, tcp://localhost:2376,
docker0-free bridge setup, iptables rules) without touching the host's. Its data and exec roots
live in a temporary directory removed afterwards; everything it mounts dies with the namespace.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from dockerd import Unavailable, docker_cli, require_dockerd

BRIDGE = "br-ns"
# The daemon answers on this socket when a case gives no host of its own to listen on.
PROBE_SOCKET = "/run/probe.sock"


@dataclass
class Observed:
    started: bool
    log: str                                        # dockerd's last error lines when it did not start
    tcp: list[str] = field(default_factory=list)     # listening TCP addresses, "127.0.0.1:2376"
    unix: list[str] = field(default_factory=list)    # listening unix sockets outside its own directories
    probes: dict[str, str] = field(default_factory=dict)


def require_unshare() -> None:
    require_dockerd()
    for tool in ("unshare", "ip", "ss", "mount"):
        if not shutil.which(tool):
            raise Unavailable(f"{tool} is not installed")


def dockerd_version() -> str:
    out = subprocess.run([require_dockerd(), "--version"], capture_output=True, text=True, check=True).stdout
    # "Docker version 20.10.24+dfsg1, build 5d6db84"
    return out.split("version", 1)[1].split(",", 1)[0].strip()


def observe(args: list[str], daemon_json: Optional[str] = "{}", env: Optional[dict[str, str]] = None,
            probes: Optional[dict[str, str]] = None, timeout: float = 60) -> Observed:
    """Run dockerd with these arguments (and its own data root, exec root, pidfile, config file
    and bridge), then the probe shell commands once it listens; report what happened."""
    dockerd = require_dockerd()
    work = Path(tempfile.mkdtemp(prefix="dcb-ns-", dir="/tmp"))
    try:
        config = work / "daemon.json"
        if daemon_json is not None:
            config.write_text(daemon_json)
        argv = [dockerd, "--data-root", str(work / "data"), "--exec-root", str(work / "x"),
                "--pidfile", str(work / "d.pid"), "--config-file", str(config), "--bridge", BRIDGE, *args]
        environment = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(work / "home"), **(env or {})}
        probe_lines = "\n".join(f'echo "{name}=$({command} 2>&1 | tr "\\n" " ")"' for name, command in (probes or {}).items())
        script = textwrap.dedent(f"""\
            set -u
            mount -t tmpfs tmpfs /run
            ip link set lo up
            ip link add {BRIDGE} type bridge && ip addr add 10.252.0.1/24 dev {BRIDGE} && ip link set {BRIDGE} up
            env -i {' '.join(f'{k}={shlex.quote(v)}' for k, v in environment.items())} {shlex.join(argv)} \\
                > {work}/log 2>&1 &
            pid=$!
            i=0
            while [ $i -lt {int(timeout * 5)} ]; do
                if ! kill -0 $pid 2>/dev/null; then echo "@@exited"; exit 0; fi
                if ss -Hltn | grep -q . || ss -Hlx | awk '{{print $5}}' | grep -v '^{work}' | grep -q '^/'; then break; fi
                sleep 0.2; i=$((i+1))
            done
            # dockerd listens before it initialises (and may still fail then: a log driver's
            # options, the storage driver): a request is answered, or the connection dropped, once
            # it is done either way.
            target=$(ss -Hlx | awk '{{print $5}}' | grep '^/' | grep -v '^{work}' | head -1)
            if [ -n "$target" ]; then target="unix://$target"
            else target="tcp://$(ss -Hltn | awk '{{print $4}}' | head -1 | sed 's/^[*]/127.0.0.1/')"; fi
            timeout {int(timeout)} {shlex.quote(docker_cli())} -H "$target" version >/dev/null 2>&1
            sleep 0.3
            if ! kill -0 $pid 2>/dev/null; then echo "@@exited"; exit 0; fi
            echo "@@started"
            ss -Hltn | awk '{{print "@@tcp " $4}}'
            ss -Hlx | awk '{{print "@@unix " $5}}'
            {probe_lines}
            kill $pid; wait $pid 2>/dev/null
            """)
        # The probes (docker CLI) run with a clean environment too: no DOCKER_HOST or DOCKER_TLS_VERIFY.
        done = subprocess.run(["unshare", "--mount", "--net", "--fork", "sh", "-c", script],
                              capture_output=True, text=True, timeout=timeout + 60,
                              env={"PATH": environment["PATH"], "HOME": str(work)})
        lines = done.stdout.splitlines()
        observed = Observed(started="@@started" in lines, log="")
        for line in lines:
            if line.startswith("@@tcp "):
                observed.tcp.append(line[6:])
            elif line.startswith("@@unix ") and not line[7:].startswith((str(work), "@")):
                observed.unix.append(line[7:])
            elif "=" in line and not line.startswith("@@"):
                name, _, value = line.partition("=")
                observed.probes[name] = value.strip()
        if not observed.started:
            log = (work / "log").read_text(errors="replace") if (work / "log").exists() else done.stderr
            observed.log = "\n".join(l for l in log.splitlines() if "level=info" not in l
                                     and "level=debug" not in l)[-800:]
        return observed
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)


def docker(host: str, *args: str) -> str:
    """A docker CLI command line for a probe."""
    return shlex.join([docker_cli(), "-H", host, *args])

