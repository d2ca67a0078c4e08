"""What the auditor knows about the daemon, worked out once from the raw facts.

The running daemon is the truth: a setting the Engine API reports (docker info, the default bridge)
is judged as reported, and its flags and daemon.json say where it came from; a file that disagrees
with the running daemon (edited, not yet applied) is reported beside it and never makes a PASS.
Settings the API does not report come from the flags merged with daemon.json, as dockerd reads
them. Where the daemon listens is what its process holds open, where the kernel could be asked.

Checks ask `daemon_view(facts)`; nothing else works these things out.
"""
from __future__ import annotations

import datetime
import posixpath
from dataclasses import dataclass, field
from typing import Any, Optional

from bench.daemon.config import EffectiveConfig, config_of, data_root
from bench.daemon.listeners import SWARM_PORTS, Listeners, api_sockets, declared_sockets, listen_streams
from bench.daemon.observed import DEFAULTS, READINGS, Observed, UnreadableAnswer, disagrees, observe, security_options
from bench.daemon.options import Setting, format_value
from bench.daemon.readings import TlsMode, docker_group, listen_addresses, tls_mode
from bench.facts import NOT_RECORDED, Facts, RelatedProcess
from bench.results import Outcome, errored, failed, passed, skipped, warned
from bench.swarm_values import listen_port

# daemon.json may be written a moment after the daemon that reads it starts (a unit's ExecStartPre
# cannot, but a provisioning script racing the daemon can): seconds of slack before "changed since".
MTIME_SLACK = 2.0
# Where dockerd looks for the system containerd when --containerd is not given (containerd's
# defaults.DefaultAddress; $XDG_RUNTIME_DIR/containerd/containerd.sock under RootlessKit):
# moby cmd/dockerd/daemon.go systemContainerdRunning (daemon/command/ since 2025), 20.10 to now.
SYSTEM_CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
# Settings the daemon's processes show: a containerd it started, userland proxies it runs.
PROCESS_READINGS = ("containerd", "userland-proxy")


@dataclass(frozen=True)
class Value:
    """One daemon setting as the audit knows it."""

    key: str
    value: Any
    source: str                        # where the value judged comes from
    declared: Optional[Setting] = None  # what the flags and daemon.json say, when they say anything
    conflict: str = ""                 # the files disagree with the running daemon
    caveat: str = ""                   # the value in force is not certain
    error: Optional[str] = None        # the value cannot be known at all
    observed: bool = False             # the running daemon reported it
    remote: bool = False               # unknown because the daemon is not on this host: SKIP, not ERROR

    @property
    def is_set(self) -> bool:
        return self.observed or self.declared is not None

    def describe(self) -> str:
        if self.declared is not None and not self.observed:
            return self.declared.describe()
        shown = f"{self.key}={format_value(self.value)} ({self.source})"
        if self.declared is not None and not self.conflict and format_value(self.declared.value) != format_value(self.value):
            shown += f", declared as {format_value(self.declared.value)}"   # userns-remap=default: remapped
        return shown

    def verdict(self, holds: bool, detail: str, on_fail: Any = failed) -> Outcome:
        """PASS when the value holds and nothing casts doubt on it; a disagreement or a doubt turns
        a PASS into WARN; a violation is `on_fail` whatever the files say."""
        if self.error:
            return skipped(self.error) if self.remote else errored(self.error)
        extra = "; ".join(x for x in (self.conflict, self.caveat) if x)
        if holds:
            return warned(f"{detail}; but {extra}") if extra else passed(detail)
        return on_fail(f"{detail}; {extra}" if extra else detail)


@dataclass
class DaemonView:
    facts: Facts
    config: EffectiveConfig
    error: Optional[str] = None        # the daemon could not be examined (collected nothing)
    findings: list[str] = field(default_factory=list)
    # The findings that are settings whose flags or daemon.json disagree with the running daemon.
    disagreements: list[str] = field(default_factory=list)

    # -- settings ------------------------------------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        return self.facts.engine.info if not self.facts.engine.unavailable() else {}

    @property
    def engine_version(self) -> Optional[str]:
        version = self.facts.engine.version.get("Version") if not self.facts.engine.unavailable() else None
        return str(version) if version else None

    def value(self, key: str) -> Value:
        declared = self.config.get(key) if not self.config.error else None
        try:
            seen = observe(key, self.info, self.facts.engine.default_bridge, self.engine_version) or self._in_processes(key)
        except UnreadableAnswer as exc:
            # Not the files' value either: the running daemon said something, and it cannot be read.
            return Value(key, None, "", declared, error=str(exc))
        if seen is not None:
            conflict, caveat = "", ""
            source = f"the running daemon, {seen.source}"
            if declared is not None:
                source += f"; {declared.source}"
            if self.config.error:
                # (An engine on another host: its files were never to be read; the API is all there is.)
                if not self.facts.daemon.skipped:
                    caveat = (f"the daemon's configuration cannot be read ({self.config.error}): the running "
                              "daemon's value is judged, not what it would start with")
            else:
                stated = declared.value if declared is not None else DEFAULTS.get(key)
                if (declared is not None or key in DEFAULTS) and disagrees(key, stated, seen.value, self.resolve):
                    said = declared.describe() if declared is not None else f"{key} unset (dockerd's default " \
                                                                            f"{format_value(stated)})"
                    conflict = (f"{said} disagrees with the running daemon: "
                                f"{self.config.config_file or 'daemon.json'} changed since dockerd started, "
                                "and applies at its next start")
            return Value(key, seen.value, source, declared, conflict=conflict, caveat=caveat, observed=True)
        if self.config.error:
            return Value(key, None, "", error=self.config.error, remote=bool(self.facts.daemon.skipped))
        caveat = self._changed_since_start(key)
        if declared is not None:
            return Value(key, declared.value, declared.source, declared, caveat=caveat)
        return Value(key, DEFAULTS.get(key), "not set; dockerd's default", caveat=caveat)

    def _in_processes(self, key: str) -> Optional[Observed]:
        """What the daemon's processes show of a setting: the socket of the containerd it started
        (so it was given none), docker-proxy processes it runs (so userland-proxy is on; none says
        nothing: no port may be published)."""
        if key == "userland-proxy":
            proxies = self.userland_proxies()
            if proxies:
                pids = ", ".join(str(p.pid) for p in proxies[:5]) + (", ..." if len(proxies) > 5 else "")
                return Observed(True, f"{len(proxies)} userland proxy process{'es' if len(proxies) > 1 else ''} it "
                                      f"started for published ports ({proxies[0].program}, pid {pids})")
        if key == "containerd":
            managed = self.managed_containerd()
            if managed is not None:
                process, socket, how = managed
                return Observed(socket, f"the containerd it started (pid {process.pid}), {how}")
        return None

    def userland_proxies(self) -> list[RelatedProcess]:
        daemon = self.facts.daemon
        return [p for p in daemon.related_processes or [] if p.program != "containerd" and p.ppid == daemon.pid]

    def exec_root(self) -> str:
        """dockerd's --exec-root as a path on this host: /var/run/docker, or $XDG_RUNTIME_DIR/docker
        for a rootless daemon."""
        daemon = self.facts.daemon
        runtime_dir = (daemon.environ or {}).get("XDG_RUNTIME_DIR") or f"/run/user/{daemon.uid}"
        default = f"{runtime_dir}/docker" if self.rootless else "/var/run/docker"
        configured = self.config.value("exec-root") if not self.config.error else None
        return self.resolve(str(configured or default))

    def managed_containerd(self) -> Optional[tuple[RelatedProcess, str, str]]:
        """The containerd dockerd started itself (given no --containerd and finding no system one):
        its child, or one an earlier dockerd started with this exec root and this one adopted
        (libcontainerd/supervisor: state in <exec-root>/containerd, config containerd.toml there);
        with the socket it serves and how that is known."""
        daemon = self.facts.daemon
        state = posixpath.join(self.exec_root(), "containerd")
        # Given a containerd it surely started with (a flag, or daemon.json unchanged since), dockerd
        # adopts none: a containerd left under its exec root by an earlier dockerd is not in use.
        named = self.config.get("containerd") if not self.config.error else None
        adopts = not (named is not None and named.value and not self._changed_since_start("containerd"))
        for process in daemon.related_processes or []:
            if process.program != "containerd":
                continue
            config = _containerd_config_arg(process.argv)
            ours = adopts and config is not None and posixpath.dirname(posixpath.normpath(config)) == state
            if not (process.ppid == daemon.pid or ours):
                continue
            sockets = [listener.address for listener in process.listeners or []
                       if posixpath.basename(listener.address) == "containerd.sock"]
            if sockets:
                return process, sockets[0], "which listens on it"
            socket = posixpath.join(posixpath.dirname(config) if config else state, "containerd.sock")
            return process, socket, "its socket under dockerd's exec root"
        return None

    def containerd_socket(self) -> Value:
        """The containerd socket the daemon uses: as the Engine API reports it (27.0 and later), else
        that of the containerd it started, else --containerd / "containerd", else the system
        containerd's, which dockerd takes when it exists as dockerd starts (it would otherwise have
        started its own)."""
        value = self.value("containerd")
        if value.error or value.value:
            return value
        daemon = self.facts.daemon
        if daemon.related_processes is None:
            return Value("containerd", None, "", error="which containerd the daemon uses is unknown: its processes "
                                                       f"were not looked at ({NOT_RECORDED})")
        environ = daemon.environ
        rootlesskit = bool(environ.get("ROOTLESSKIT_STATE_DIR")) if environ is not None else self.rootless
        if rootlesskit:
            runtime_dir = (environ or {}).get("XDG_RUNTIME_DIR") or f"/run/user/{daemon.uid}"
            path, where = f"{runtime_dir}/containerd/containerd.sock", "under its $XDG_RUNTIME_DIR (RootlessKit)"
        else:
            path, where = SYSTEM_CONTAINERD_SOCKET, "containerd's default"
        return Value("containerd", self.resolve(path),
                     f"no containerd setting and no containerd of its own: the system containerd's socket ({where}), "
                     "which dockerd takes when it exists as dockerd starts", caveat=value.caveat)

    def _changed_since_start(self, key: str) -> str:
        daemon = self.facts.daemon
        if key in self.config.flag_keys or daemon.config_mtime is None or daemon.started_at is None:
            return ""
        if daemon.config_mtime <= daemon.started_at + MTIME_SLACK:
            return ""
        when = datetime.datetime.fromtimestamp(daemon.config_mtime, datetime.timezone.utc).isoformat(timespec="seconds")
        return (f"{self.config.config_file} was changed at {when}, after dockerd started: the value of {key} "
                "the running daemon uses cannot be read from the Engine API")

    def resolve(self, path: str) -> str:
        """A path the daemon names, as it is on this host: relative to its working directory, under its root."""
        daemon = self.facts.daemon
        if not posixpath.isabs(path) and daemon.cwd:
            path = posixpath.join(daemon.cwd, path)
        path = posixpath.normpath(path)
        if daemon.proc_root and daemon.proc_root != "/":
            path = posixpath.join(daemon.proc_root, path.lstrip("/"))
        return path

    # -- what the daemon is --------------------------------------------------------------------------
    @property
    def rootless(self) -> bool:
        # The API lists rootless (20.10 and later); the process's uid and --rootless say it too.
        seen = observe("rootless", self.info, None, self.engine_version)
        return bool(seen is not None and seen.value) or bool(self.facts.daemon.rootless)

    @property
    def security_options(self) -> dict[str, dict[str, str]]:
        return security_options(self.info)

    def data_root(self) -> tuple[Optional[str], str]:
        return data_root(self.facts.engine, self.facts.daemon, None if self.facts.daemon.unavailable() else self.config)

    def home(self) -> Optional[str]:
        """The daemon's user's home (dockerd's ~): its HOME, else root's, else the one its rootless
        daemon.json lies in."""
        daemon = self.facts.daemon
        if (daemon.environ or {}).get("HOME"):
            return daemon.environ["HOME"]
        if daemon.uid in (0, None) and not daemon.rootless:
            return "/root"
        if daemon.config_file and "/.config/docker/" in daemon.config_file:
            return daemon.config_file.split("/.config/docker/", 1)[0]
        return None

    def tls(self) -> TlsMode:
        return tls_mode(self.config, self.facts.daemon.environ, self.home())

    def group(self) -> Any:
        return docker_group(self.config)

    # -- where it listens ----------------------------------------------------------------------------
    def declared_addresses(self) -> list[str]:
        daemon = self.facts.daemon
        return listen_addresses(self.config, daemon.uid if self.rootless else None, environ=daemon.environ)

    def socket_unit_streams(self) -> list[str]:
        files = self.facts.files
        paths = files.locations.get("docker.socket") or [] if not files.unavailable() else []
        texts = [files.files[p].content for p in paths if p in files.files]
        return [s for text in texts for s in listen_streams(text)]

    def listeners(self) -> Listeners:
        """The API's sockets: observed where the kernel showed the process's own sockets, else
        declared by the configuration (fd:// by the socket unit's ListenStream)."""
        daemon, result = self.facts.daemon, Listeners()
        declared = declared_sockets(self.declared_addresses(), self.socket_unit_streams())
        if daemon.listeners is None or daemon.listeners_error:
            why = daemon.listeners_error or NOT_RECORDED
            if self.config.error:
                result.unknown = f"its sockets were not seen ({why}) and its configuration cannot be read ({self.config.error})"
                return result
            result.api = declared
            result.notes.append(f"the daemon's sockets were not seen ({why}); its configuration's addresses are judged")
            return result
        data_root = self.data_root()[0]
        roots = [self.exec_root()] + ([self.resolve(data_root)] if data_root else [])
        swarm_info = self.info.get("Swarm") or {}
        swarm = str(swarm_info.get("LocalNodeState") or "") == "active"
        # The management port is --listen-addr's, which need not be 2377.
        state = None if self.facts.swarm.unavailable() else self.facts.swarm.state
        swarm_ports = {*SWARM_PORTS, listen_port(swarm_info, state)[0]}
        result.api, aside = api_sockets(daemon.listeners, roots, str(self.config.value("metrics-addr") or ""),
                                        swarm, swarm_ports)
        result.observed = True
        seen = {(listener.kind, listener.address) for listener in result.api}
        missing = [d for d in declared if (d.kind, d.address) not in seen and d.kind == "unix"]
        if missing:
            result.notes.append("declared but not listening: " + ", ".join(d.address for d in missing))
        if aside:
            result.notes.append("not the API: " + ", ".join(aside))
        return result

    def control_sockets(self) -> tuple[list[tuple[str, str]], str]:
        """Every unix socket that hands over control of the daemon's containers, as (path, what):
        the API's unix sockets (observed, else declared) and the containerd socket dockerd drives
        (--containerd, else the one it starts under its exec root). The reason when the API's are
        unknown."""
        listeners = self.listeners()
        found = [(listener.address, f"the API socket ({listener.how})") for listener in listeners.unix]
        if not self.config.error:
            containerd = self.config.value("containerd")
            if containerd:
                found.append((str(containerd), "containerd's socket (--containerd)"))
            else:
                # Without --containerd dockerd uses the system containerd when its socket exists, else
                # starts its own under the exec root (moby cmd/dockerd initContainerD).
                runtime_dir = (self.facts.daemon.environ or {}).get("XDG_RUNTIME_DIR") or f"/run/user/{self.facts.daemon.uid}"
                system = f"{runtime_dir}/containerd/containerd.sock" if self.rootless else "/run/containerd/containerd.sock"
                exec_root = self.config.value("exec-root") or (f"{runtime_dir}/docker" if self.rootless else "/var/run/docker")
                found.append((system, "the system containerd's socket"))
                found.append((posixpath.join(str(exec_root), "containerd", "containerd.sock"),
                              "the socket of the containerd dockerd starts"))
        return found, listeners.unknown


def build_view(facts: Facts) -> DaemonView:
    """The view of the daemon in `facts`, computed afresh (collectors use it half-way)."""
    daemon = facts.daemon
    if daemon.unavailable():
        why = daemon.skipped or f"daemon not examined: {daemon.error}"
        return DaemonView(facts, EffectiveConfig(error=why), error=daemon.unavailable())
    view = DaemonView(facts, config_of(facts))
    view.disagreements = [value.conflict for value in map(view.value, (*READINGS, *PROCESS_READINGS))
                          if value.conflict]
    view.findings = _findings(view)
    return view


def daemon_view(facts: Facts) -> DaemonView:
    """The view of the daemon in `facts`, computed once per Facts."""
    cached = facts.derived.get("daemon_view")
    if cached is None:
        cached = facts.derived["daemon_view"] = build_view(facts)
    return cached


def _findings(view: DaemonView) -> list[str]:
    """What the report says about the daemon itself: which one, how it was found, and where its
    files disagree with it."""
    daemon, found = view.facts.daemon, []
    program = " ".join(daemon.argv[:1]) or daemon.exe or "dockerd"
    found.append(f"the daemon is pid {daemon.pid} ({program}), found because {daemon.found_by}"
                 + (f"; other Docker daemons run as pid {', '.join(map(str, daemon.other_daemons))}"
                    if daemon.other_daemons else ""))
    if daemon.config_file:
        state = "missing" if daemon.config_text is None and not daemon.config_error else "read"
        found.append(f"its configuration file is {daemon.config_file} ({daemon.config_file_source}; {state})")
    if view.config.error:
        found.append(f"its configuration cannot be read: {view.config.error}; settings the Engine API reports "
                     "are judged from the running daemon")
    found += [f"configuration: {note}" for note in view.config.notes]
    return found + view.disagreements


def _containerd_config_arg(argv: list[str]) -> Optional[str]:
    """containerd's --config / -c (urfave/cli: "--config X", "--config=X", one dash or two)."""
    for i, arg in enumerate(argv[1:], 1):
        name, eq, rest = arg.partition("=")
        if name in ("--config", "-config", "-c", "--c"):
            if eq:
                return rest
            return argv[i + 1] if i + 1 < len(argv) else None
    return None
