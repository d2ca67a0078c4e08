"""Find the dockerd that serves the API the audit talks to, and record what the kernel says of it
and the daemon.json it reads.

Several daemons can run on one host (a rootless one beside the system one, a CI daemon, one in
another mount namespace given the same socket path), so the daemon is chosen by the sockets its
process holds, then by what its command line declares, and the choice is then proven: the data
root the Engine API reports must be the candidate's. Engine 1.11 runs as `docker daemon`; both
generations are recognised.
"""
from __future__ import annotations

import os
import posixpath
import re
from typing import Optional

from bench.daemon import ConfigError, EffectiveConfig, listen_addresses, parse_flags
from bench.daemon.config import effective_config
from bench.facts import DaemonFacts, RelatedProcess
from bench.hostio import Host, ProcessInfo

DEFAULT_CONFIG_FILE = "/etc/docker/daemon.json"
# The variables dockerd reads for its defaults (TLS files and verification, rootless paths); the
# rest of its environment (proxies with credentials, say) is never recorded.
# PATH: where the containerd it starts looks for its shims.
DAEMON_ENVIRONMENT = ("DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_CONFIG", "DOCKER_DRIVER", "HOME",
                      "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "ROOTLESSKIT_STATE_DIR", "PATH")
# The arguments dockerd gives a userland proxy for a published port (a --userland-proxy-path
# program gets the same): how a proxy is known whatever its program is called.
PROXY_ARGUMENTS = ("-host-port", "-container-port")


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


def _declared_sockets(proc: ProcessInfo) -> list[str]:
    """Unix sockets a daemon's command line says it listens on (daemon.json is read later)."""
    try:
        settings, _, _ = parse_flags(proc.cmdline)
    except ConfigError:
        return []
    rootless_uid = proc.uid if proc.uid not in (None, 0) else None
    return [addr[len("unix://"):] for addr in listen_addresses(EffectiveConfig(settings=settings), rootless_uid)
            if addr.startswith("unix://")]


LOOPBACK_REACHABLE = ("127.0.0.1", "0.0.0.0", "[::]", "[::1]", "[::ffff:127.0.0.1]")


def _holds_tcp(listeners: list, address: str) -> bool:
    """Whether a process's TCP listeners take connections to a loopback address:port."""
    port = address.rsplit(":", 1)[1]
    return any(listener.kind == "tcp" and listener.address.rsplit(":", 1)[1] == port
               and listener.address.rsplit(":", 1)[0] in LOOPBACK_REACHABLE for listener in listeners)


def find_daemon(host: Host, socket_path: Optional[str], data_root: Optional[str],
                engine_version: Optional[str] = None, tcp_address: Optional[str] = None) -> DaemonFacts:
    facts = DaemonFacts(error=None)
    try:
        candidates = [p for p in host.processes() if is_daemon_process(p)]
    except Exception as exc:  # psutil raises its own AccessDenied etc.
        facts.error = f"cannot read the process table: {exc}"
        return facts
    if not candidates:
        facts.error = "no dockerd process found on this host"
        return facts

    listening: dict[int, list] = {}
    unverifiable: dict[int, str] = {}   # daemons whose open sockets we may not look at (a non-root audit)
    for proc in candidates:
        try:
            listening[proc.pid] = host.listeners(proc.pid)
        except OSError as exc:
            unverifiable[proc.pid] = exc.strerror or str(exc)

    chosen: Optional[ProcessInfo] = None
    if tcp_address:
        # An endpoint on this machine's loopback: the local daemon that holds that port, if any.
        holding = [p for p in candidates if _holds_tcp(listening.get(p.pid, []), tcp_address)]
        if data_root:
            holding = [p for p in holding if _declared_data_root(host, p) == data_root] or holding
        if not holding:
            facts.error = f"no Docker daemon of this host listens on {tcp_address}"
            return facts
        chosen, facts.found_by = holding[0], f"its process listens on {tcp_address}"
    if socket_path and chosen is None:
        holding = [p for p in candidates if any(
            listener.kind == "unix" and _same_socket(host, listener.address, socket_path)
            for listener in listening.get(p.pid, []))]
        if len(holding) > 1 and data_root:
            # The same path in two mount namespaces: the data root the API reports tells them apart.
            holding = [p for p in holding if _declared_data_root(host, p) == data_root] or holding
        if holding:
            chosen, facts.found_by = holding[0], f"its process listens on {socket_path}"
        if chosen is None:
            for proc in candidates:
                if any(_same_socket(host, path, socket_path) for path in _declared_sockets(proc)):
                    chosen, facts.found_by = proc, f"its command line names {socket_path}"
                    break
        if chosen is None and not unverifiable:
            facts.error = f"no running Docker daemon listens on {socket_path}"
            return facts
    if chosen is None and data_root:
        matches = [p for p in candidates if _declared_data_root(host, p) == data_root]
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
    facts.started_at = chosen.started_at
    if chosen.pid in listening:
        facts.listeners = listening[chosen.pid]
    else:
        facts.listeners_error = f"cannot read the sockets of pid {chosen.pid}: {unverifiable.get(chosen.pid)}"
    _process_details(host, facts)
    facts.related_processes = related_processes(host, chosen.pid)
    _read_config_file(host, facts)
    _prove(facts, data_root, engine_version, host)
    return facts


def _process_details(host: Host, facts: DaemonFacts) -> None:
    """Where the process runs and what it was started with: each read on its own, as the right to
    read one does not give the others (ptrace rules on cwd, root and environ)."""
    pid = facts.pid
    for attr, path in (("cwd", f"/proc/{pid}/cwd"), ("proc_root", f"/proc/{pid}/root")):
        try:
            setattr(facts, attr, host.proc_link(path))
        except OSError:
            pass
    try:
        facts.environ = host.environment_of(pid, DAEMON_ENVIRONMENT)
    except OSError:
        pass
    try:
        theirs = host.proc_link(f"/proc/{pid}/ns/mnt")
        facts.same_mount_namespace = theirs == host.proc_link("/proc/self/ns/mnt") if host.is_local_root else None
    except OSError:
        pass


def _program(proc: ProcessInfo) -> str:
    return os.path.basename(proc.cmdline[0]) if proc.cmdline else proc.name


def related_processes(host: Host, daemon_pid: int) -> Optional[list[RelatedProcess]]:
    """Every containerd on the host (the daemon view tells the one this daemon uses), and the
    daemon's children that are userland proxies; None when the process table cannot be read."""
    try:
        procs = host.processes()
    except Exception:  # psutil raises its own AccessDenied etc.
        return None
    found = []
    for proc in procs:
        program = _program(proc)
        containerd = program == "containerd" or proc.name == "containerd"
        proxy = proc.ppid == daemon_pid and any(a in proc.cmdline for a in PROXY_ARGUMENTS)
        if not (containerd or proxy):
            continue
        listeners = None
        if containerd:
            try:
                listeners = [listener for listener in host.listeners(proc.pid) if listener.kind == "unix"]
            except OSError:
                pass
        found.append(RelatedProcess(proc.pid, proc.ppid, "containerd" if containerd else program, list(proc.cmdline),
                                    listeners))
    return sorted(found, key=lambda p: p.pid)


def _declared_data_root(host: Host, proc: ProcessInfo) -> str:
    try:
        settings, _, _ = parse_flags(proc.cmdline)
    except ConfigError:
        return ""
    for key in ("data-root", "graph"):
        if key in settings:
            return _resolved(host, str(settings[key].value))
    return "/var/lib/docker"


def _resolved(host: Host, path: str) -> str:
    try:
        return host.resolve(path)
    except OSError:
        return path


def config_file_of(host: Host, facts: DaemonFacts) -> tuple[str, str]:
    """The daemon.json the daemon reads, as a path on this host, and how that is known. A relative
    --config-file is relative to the daemon's working directory, and every path is under its root."""
    try:
        _, control, _ = parse_flags(facts.argv)
    except ConfigError:
        control = {}
    if "--config-file" in control:
        named = str(control["--config-file"])
        path, source = named, "--config-file"
        if not posixpath.isabs(named):
            if not facts.cwd:
                return named, "--config-file, relative to a working directory that could not be read"
            path, source = posixpath.join(facts.cwd, named), f"--config-file {named}, relative to its working directory {facts.cwd}"
    elif facts.rootless and facts.uid not in (None, 0):
        home = (facts.environ or {}).get("XDG_CONFIG_HOME")
        home_dir = host.home_of(facts.uid)
        if home:
            path, source = f"{home}/docker/daemon.json", "rootless default ($XDG_CONFIG_HOME/docker)"
        elif home_dir:
            path, source = f"{home_dir}/.config/docker/daemon.json", "rootless default (~/.config/docker)"
        else:
            path, source = DEFAULT_CONFIG_FILE, "default"
    else:
        path, source = DEFAULT_CONFIG_FILE, "default"
    path = posixpath.normpath(path)
    if facts.proc_root and facts.proc_root != "/":
        path, source = posixpath.join(facts.proc_root, path.lstrip("/")), f"{source}, under its root {facts.proc_root}"
    return path, source


def _read_config_file(host: Host, facts: DaemonFacts) -> None:
    path, source = config_file_of(host, facts)
    facts.config_file, facts.config_file_source = path, source
    try:
        facts.config_text = host.read_text(path)
        facts.config_mtime = host.changed_at(path)
    except FileNotFoundError:
        facts.config_text = None
    except PermissionError:
        facts.config_error = "permission denied"
    except OSError as exc:
        facts.config_error = exc.strerror or str(exc)


def _prove(facts: DaemonFacts, api_root: Optional[str], engine_version: Optional[str], host: Host) -> None:
    """The daemon whose files are judged must be the one behind the API: the data root it would use
    must be the one the API reports. Two daemons can be given one socket path in different mount
    namespaces, and a stale process can hold a socket nobody answers on."""
    if not api_root or facts.config_error:
        return
    config = effective_config(facts.argv, facts.config_file, facts.config_text, engine_version=engine_version)
    if config.error:
        return
    declared = config.value("data-root") or config.value("graph")
    if not declared:
        if facts.rootless:
            return   # its default lies under its user's home; the API's answer is the only word on it
        declared = "/var/lib/docker"
    declared = str(declared)
    if not posixpath.isabs(declared) and facts.cwd:
        declared = posixpath.join(facts.cwd, declared)
    # With userns-remap the API reports the remapped root below the data root: <root>/<uid>.<gid>.
    reported = {api_root}
    parent, leaf = posixpath.split(api_root)
    if re.fullmatch(r"[0-9]+\.[0-9]+", leaf):
        reported.add(parent)
    if _resolved(host, declared) not in reported and posixpath.normpath(declared) not in reported:
        facts.error = (f"the Docker daemon found (pid {facts.pid}: {facts.found_by}) would use the data root "
                       f"{declared}, but the Engine API reports {api_root}: it is not the daemon behind the API, "
                       "whose files and settings cannot be told")
