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
from bench.daemon.listeners import Listeners, api_sockets, declared_sockets, listen_streams
from bench.daemon.observed import DEFAULTS, READINGS, disagrees, observe, security_options
from bench.daemon.options import Setting, format_value
from bench.daemon.readings import TlsMode, docker_group, listen_addresses, tls_mode
from bench.facts import NOT_RECORDED, Facts
from bench.results import Outcome, errored, failed, passed, skipped, warned

# daemon.json may be written a moment after the daemon that reads it starts (a unit's ExecStartPre
# cannot, but a provisioning script racing the daemon can): seconds of slack before "changed since".
MTIME_SLACK = 2.0


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
        seen = observe(key, self.info, self.facts.engine.default_bridge, self.engine_version)
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
        runtime_dir = (daemon.environ or {}).get("XDG_RUNTIME_DIR") or f"/run/user/{daemon.uid}"
        default_exec_root = f"{runtime_dir}/docker" if self.rootless else "/var/run/docker"
        roots = [self.config.value("exec-root") or default_exec_root, self.data_root()[0] or ""]
        swarm = str((self.info.get("Swarm") or {}).get("LocalNodeState") or "") == "active"
        result.api, aside = api_sockets(daemon.listeners, [self.resolve(r) for r in roots if r],
                                        str(self.config.value("metrics-addr") or ""), swarm)
        result.observed = True
        seen = {(listener.kind, listener.address) for listener in result.api}
        missing = [d for d in declared if (d.kind, d.address) not in seen and d.kind == "unix"]
        if missing:
            result.notes.append("declared but not listening: " + ", ".join(d.address for d in missing))
        if aside:
            result.notes.append("not the API: " + ", ".join(aside))
        return result


def build_view(facts: Facts) -> DaemonView:
    """The view of the daemon in `facts`, computed afresh (collectors use it half-way)."""
    daemon = facts.daemon
    if daemon.unavailable():
        why = daemon.skipped or f"daemon not examined: {daemon.error}"
        return DaemonView(facts, EffectiveConfig(error=why), error=daemon.unavailable())
    view = DaemonView(facts, config_of(facts))
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
    for key in READINGS:
        value = view.value(key)
        if value.conflict:
            found.append(value.conflict)
    return found
