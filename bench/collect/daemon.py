"""Find the dockerd that serves the API socket the audit talks to, and read its daemon.json.

Several daemons can run on one host (a rootless one beside the system one, a CI daemon ...), so the
daemon is chosen by the socket it listens on, not by its name or age. Engine 1.11 runs as
`docker daemon`; both generations are recognised.
"""
from __future__ import annotations

import os
from typing import Optional

from bench.daemon import ConfigError, listen_addresses, parse_flags, EffectiveConfig
from bench.facts import DaemonFacts
from bench.hostio import Host, ProcessInfo

DEFAULT_CONFIG_FILE = "/etc/docker/daemon.json"


def is_daemon_process(proc: ProcessInfo) -> bool:
    program = os.path.basename(proc.cmdline[0]) if proc.cmdline else proc.name
    if program == "dockerd" or proc.name == "dockerd":
        return True
    # Engine <= 1.11: `docker daemon ...`; before 1.8: `docker -d ...`.
    return program == "docker" and len(proc.cmdline) > 1 and proc.cmdline[1] in ("daemon", "-d", "--daemon")


def _same_socket(host: Host, a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return host.resolve(a) == host.resolve(b)
    except OSError:
        return False


def _declared_sockets(proc: ProcessInfo, rootless_default: Optional[str]) -> list[str]:
    """Unix sockets a daemon says it listens on (flags only; daemon.json is read later)."""
    try:
        settings, _, _ = parse_flags(proc.cmdline)
    except ConfigError:
        return []
    config = EffectiveConfig(settings=settings)
    default = f"unix://{rootless_default}" if rootless_default else "unix:///var/run/docker.sock"
    return [addr[len("unix://"):] for addr in listen_addresses(config, default_socket=default)
            if addr.startswith("unix://")]


def find_daemon(host: Host, socket_path: Optional[str], data_root: Optional[str]) -> DaemonFacts:
    facts = DaemonFacts(error=None)
    try:
        candidates = [p for p in host.processes() if is_daemon_process(p)]
    except Exception as exc:  # psutil raises its own AccessDenied etc.
        facts.error = f"cannot read the process table: {exc}"
        return facts
    if not candidates:
        facts.error = "no dockerd process found on this host"
        return facts

    chosen: Optional[ProcessInfo] = None
    unverifiable = 0  # daemons whose open sockets we may not look at (a non-root audit)
    if socket_path:
        for proc in candidates:
            try:
                listening = host.unix_listeners(proc.pid)
            except Exception:
                unverifiable += 1
                continue
            if any(_same_socket(host, path, socket_path) for path in listening):
                chosen, facts.found_by = proc, f"listens on {socket_path}"
                break
        if chosen is None:
            for proc in candidates:
                rootless = _rootless_socket(proc)
                if any(_same_socket(host, path, socket_path) for path in _declared_sockets(proc, rootless)):
                    chosen, facts.found_by = proc, f"its command line names {socket_path}"
                    break
        if chosen is None and not unverifiable:
            facts.error = f"no running Docker daemon listens on {socket_path}"
            return facts
    if chosen is None and data_root:
        matches = [p for p in candidates if _data_root_of(p) == data_root]
        if len(matches) == 1:
            chosen, facts.found_by = matches[0], f"its data root is {data_root}, as the API reports"
    if chosen is None and len(candidates) == 1 and data_root:
        chosen, facts.found_by = candidates[0], "the only Docker daemon running"
    if chosen is None:
        pids = ", ".join(str(p.pid) for p in candidates)
        facts.error = (f"{len(candidates)} Docker daemon{'s' if len(candidates) > 1 else ''} run (pid {pids}) and "
                       f"none could be tied to {socket_path or 'the API endpoint'}")
        return facts

    facts.pid, facts.exe, facts.argv, facts.uid = chosen.pid, chosen.exe, list(chosen.cmdline), chosen.uid
    facts.other_daemons = sorted(p.pid for p in candidates if p.pid != chosen.pid)
    facts.rootless = "--rootless" in chosen.cmdline or (chosen.uid not in (None, 0))
    _read_config_file(host, facts)
    return facts


def _data_root_of(proc: ProcessInfo) -> str:
    try:
        settings, _, _ = parse_flags(proc.cmdline)
    except ConfigError:
        return ""
    for key in ("data-root", "graph"):
        if key in settings:
            return str(settings[key].value)
    return "/var/lib/docker"


def _rootless_socket(proc: ProcessInfo) -> Optional[str]:
    if proc.uid in (None, 0):
        return None
    return f"/run/user/{proc.uid}/docker.sock"


def config_file_of(host: Host, facts: DaemonFacts) -> tuple[str, str]:
    try:
        _, control, _ = parse_flags(facts.argv)
    except ConfigError:
        control = {}
    if "--config-file" in control:
        return str(control["--config-file"]), "--config-file"
    if facts.rootless and facts.uid not in (None, 0):
        home = host.home_of(facts.uid)
        if home:
            return f"{home}/.config/docker/daemon.json", "rootless default (~/.config/docker)"
    return DEFAULT_CONFIG_FILE, "default"


def _read_config_file(host: Host, facts: DaemonFacts) -> None:
    path, source = config_file_of(host, facts)
    facts.config_file, facts.config_file_source = path, source
    try:
        facts.config_text = host.read_text(path)
    except FileNotFoundError:
        facts.config_text = None
    except PermissionError:
        facts.config_error = "permission denied"
    except OSError as exc:
        facts.config_error = exc.strerror or str(exc)
