"""dockerd's effective configuration: its command-line flags merged with the daemon.json it reads.

Every value keeps where it came from, so a report can say "icc=false from daemon.json" or
"log-level=debug from flag --log-level=debug". Settings are named by their daemon.json keys; flags
are translated (--insecure-registry -> insecure-registries). Parsing is pure: it takes the argv and
the file text recorded in the facts, which is what makes recorded hosts replayable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from bench.daemon.daemon_json import parse_daemon_json
from bench.daemon.flags import parse_flags
from bench.daemon.options import ConfigError, Setting

@dataclass
class EffectiveConfig:
    settings: dict[str, Setting] = field(default_factory=dict)
    config_file: Optional[str] = None
    # Set when the configuration cannot be known (malformed daemon.json, unreadable file, no
    # daemon found): every check that reads the configuration is then ERROR with this reason.
    error: Optional[str] = None
    notes: list[str] = field(default_factory=list)

    def get(self, key: str) -> Optional[Setting]:
        return self.settings.get(key)

    def value(self, key: str, default: Any = None) -> Any:
        setting = self.settings.get(key)
        return default if setting is None else setting.value


def effective_config(argv: list[str], config_file: Optional[str], config_text: Optional[str],
                     config_error: Optional[str] = None) -> EffectiveConfig:
    """Merge flags and daemon.json the way dockerd does. Never raises: problems land in .error."""
    try:
        flag_settings, _control, notes = parse_flags(argv)
    except ConfigError as exc:
        return EffectiveConfig(config_file=config_file, error=f"daemon command line: {exc}")
    config = EffectiveConfig(config_file=config_file, notes=notes)
    if config_error:
        config.error = f"{config_file}: {config_error}"
        return config
    file_settings: dict[str, Setting] = {}
    if config_text is not None and config_file:
        try:
            file_settings = parse_daemon_json(config_text, config_file)
        except ConfigError as exc:
            config.error = str(exc)
            return config
    both = sorted(set(flag_settings) & set(file_settings))
    if both:
        # dockerd refuses to start when an option is set both ways, so this daemon.json was changed
        # after the daemon started: report the flag, which the running daemon did use.
        config.notes.append(f"set both as a flag and in {config_file}: {', '.join(both)}; "
                            "dockerd would not start like this, the flag is reported")
    config.settings = {**file_settings, **flag_settings}
    return config


DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def listen_addresses(config: EffectiveConfig, default: str = DEFAULT_SOCKET) -> list[str]:
    hosts = config.value("hosts")
    return list(hosts) if hosts else [default]


def config_of(facts: Any) -> EffectiveConfig:
    """The effective configuration of the facts' daemon, computed once per Facts."""
    cached = facts.derived.get("daemon_config")
    if cached is None:
        daemon = facts.daemon
        if daemon.unavailable():
            cached = EffectiveConfig(error=f"daemon not examined: {daemon.unavailable()}")
        else:
            cached = effective_config(daemon.argv, daemon.config_file, daemon.config_text, daemon.config_error)
        facts.derived["daemon_config"] = cached
    return cached


def data_root(engine: Any, daemon: Any, config: Optional[EffectiveConfig]) -> tuple[Optional[str], str]:
    """The daemon's data directory and how it is known; (None, why) when it cannot be known, since
    a guess could judge the wrong directory, and pass. `engine` and `daemon` are their facts."""
    root = engine.info.get("DockerRootDir") if not engine.unavailable() else None
    if root:
        return str(root), "as the Engine API reports"
    if daemon.unavailable() or config is None:
        return None, (f"the engine cannot be asked ({engine.unavailable() or 'it reports no DockerRootDir'}) "
                      f"and the daemon was not examined ({daemon.unavailable() or 'no configuration'})")
    settings = config.settings
    if config.error:
        # The flags still hold: dockerd refuses an option set both as a flag and in daemon.json.
        try:
            settings = parse_flags(daemon.argv)[0]
        except ConfigError:
            settings = {}
    for key in ("data-root", "graph"):
        setting = settings.get(key)
        if setting:
            return str(setting.value), setting.source
    if config.error:
        return None, f"the engine cannot be asked and the daemon's configuration is unknown ({config.error})"
    return "/var/lib/docker", "the default; set neither by flag nor in daemon.json"
