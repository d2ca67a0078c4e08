"""dockerd's effective configuration: its command-line flags merged with the daemon.json it reads.

Every value keeps where it came from, so a report can say "icc=false from daemon.json" or
"log-level=debug from flag --log-level=debug". Settings are named by their daemon.json keys; flags
are translated (--insecure-registry -> insecure-registries). Values are the ones dockerd runs with
(log level "INFO" is info; storage option keys are lowercase; `tls` alone verifies clients on
20.10 and later), with what was written kept beside them. Parsing is pure: it takes the argv and
the file text recorded in the facts, which is what makes recorded hosts replayable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from bench.daemon.daemon_json import DaemonJson, parse_daemon_json
from bench.daemon.flags import engine_version_tuple, generation_of, parse_flags
from bench.daemon.hosts import parse_daemon_host
from bench.daemon.options import MFLAG, PFLAG, ConfigError, Setting

# Engine 20.10 made TLS settings tri-state and verifies clients when only `tls` is set
# (moby 5f5285a "Sterner warnings for unathenticated tcp": cmd/dockerd/daemon.go loadDaemonCliConfig).
TLS_IMPLIES_VERIFY_SINCE = (20, 10)

# logrus ParseLevel: case-insensitive from the logrus dockerd vendored after Engine 1.12 (v1.11.2's
# compared exactly); "warning" is "warn".
LOG_LEVELS = ("panic", "fatal", "error", "warn", "info", "debug", "trace")


@dataclass
class EffectiveConfig:
    settings: dict[str, Setting] = field(default_factory=dict)
    config_file: Optional[str] = None
    # Set when the configuration cannot be known (malformed daemon.json, unreadable file, no
    # daemon found): every check that reads the configuration is then ERROR with this reason.
    error: Optional[str] = None
    notes: list[str] = field(default_factory=list)
    generation: str = PFLAG
    engine_version: Optional[tuple[int, ...]] = None
    flag_keys: frozenset[str] = frozenset()   # options given on the command line
    file_keys: frozenset[str] = frozenset()   # keys dockerd counts as set in daemon.json (flattened)
    derived: frozenset[str] = frozenset()     # settings dockerd implies from others (tls from tlsverify)

    def get(self, key: str) -> Optional[Setting]:
        return self.settings.get(key)

    def value(self, key: str, default: Any = None) -> Any:
        setting = self.settings.get(key)
        return default if setting is None else setting.value


def effective_config(argv: list[str], config_file: Optional[str], config_text: Optional[str],
                     config_error: Optional[str] = None, engine_version: Any = None) -> EffectiveConfig:
    """Merge flags and daemon.json the way dockerd does. Never raises: problems land in .error.
    engine_version (as the Engine API reports it) settles readings that changed between releases."""
    generation = generation_of(argv, engine_version)
    config = EffectiveConfig(config_file=config_file, generation=generation, engine_version=engine_version_tuple(engine_version))
    try:
        flag_settings, control, notes = parse_flags(argv, generation, engine_version)
    except ConfigError as exc:
        config.error = f"daemon command line: {exc}"
        return config
    config.notes = notes
    config.flag_keys = frozenset(flag_settings)
    if config_error:
        config.error = f"{config_file}: {config_error}"
        return config
    file = DaemonJson()
    if config_text is not None and config_file:
        try:
            file = parse_daemon_json(config_text, config_file, generation, engine_version)
        except ConfigError as exc:
            config.error = str(exc)
            return config
    config.notes += file.notes
    config.file_keys = file.keys
    conflicts = _conflicts(flag_settings, control, file)
    if conflicts:
        # dockerd refuses to start when an option is set both ways, so this daemon.json was changed
        # after the daemon started: report the flag, which the running daemon did use.
        config.notes.append(f"set both as a flag and in {config_file}: {', '.join(conflicts)}; "
                            "dockerd would not start like this, the flag is reported")
    settings = {**file.settings, **flag_settings}
    if "runtimes" in file.settings and "runtimes" in flag_settings:
        # The one option dockerd merges from both (skipDuplicates in daemon/config/config.go).
        settings["runtimes"] = Setting("runtimes", {**file.settings["runtimes"].value, **flag_settings["runtimes"].value},
                                       f"{file.settings['runtimes'].source}, {flag_settings['runtimes'].source}")
    try:
        config.settings = _as_dockerd_reads(settings, config, file)
    except ConfigError as exc:
        config.error = str(exc)
        config.settings = {}
    return config


def _conflicts(flags: dict[str, Setting], control: dict[str, Any], file: DaemonJson) -> list[str]:
    """findConfigurationConflicts, step 3: a flag given on the command line whose name (or, for a
    list or map flag, whose option's name: "labels" for --label) the file sets too; the option
    keys here are exactly those names. dockerd merges "runtimes" instead (skipDuplicates)."""
    found = [key for key in flags if key in file.keys and key != "runtimes"]
    found += [name[2:] for name in control if name[2:] in file.keys]
    return sorted(found)


def _as_dockerd_reads(settings: dict[str, Setting], config: EffectiveConfig, file: DaemonJson) -> dict[str, Setting]:
    settings = dict(settings)
    level = settings.get("log-level")
    if level is not None:
        settings["log-level"] = _log_level_setting(level, config.generation)
    opts = settings.get("storage-opts")
    if opts is not None:
        settings["storage-opts"] = Setting(opts.key, [_storage_opt(o, opts) for o in opts.value], opts.source,
                                           written=opts.value)
    _check_log_opts(settings)
    for address in settings.get("hosts", Setting("hosts", [], "")).value:
        if address.strip():
            parse_daemon_host(address)  # dockerd refuses the whole command line on a bad one
    derived = set()
    verify_named = "tlsverify" in config.flag_keys or "tlsverify" in file.keys
    tls = settings.get("tls")
    if verify_named and not (tls and tls.value is True):
        # Setting tlsverify at all, even to false or null, turns TLS on, over tls=false too (every
        # generation: v1.11.2 docker/common.go postParseCommon, loadDaemonCliConfig since).
        cause = settings.get("tlsverify")
        settings["tls"] = Setting("tls", True, f"implied by tlsverify ({cause.source if cause else 'daemon.json'})"
                                  + (f", over {tls.describe()}" if tls else ""))
        derived.add("tls")
    if (settings.get("tls") and settings["tls"].value is True and "tlsverify" not in settings
            and config.generation == PFLAG and config.engine_version is not None
            and config.engine_version[:2] >= TLS_IMPLIES_VERIFY_SINCE):
        # TLSVerify left unset (or null in daemon.json) takes TLS's value.
        why = ("tlsverify is null in daemon.json, which dockerd counts as set" if verify_named
               else f"implied by tls=true ({settings['tls'].source})")
        settings["tlsverify"] = Setting("tlsverify", True, f"{why}: dockerd 20.10 and later verify clients "
                                        "unless tlsverify=false")
        derived.add("tlsverify")
    config.derived = frozenset(derived)
    return settings


def _log_level_setting(setting: Setting, generation: str) -> Setting:
    written = str(setting.value)
    level = written if generation == MFLAG else written.lower()
    if level == "warning":
        level = "warn"
    if level not in LOG_LEVELS or (generation == MFLAG and level == "trace"):
        raise ConfigError(f"log-level {written!r} ({setting.source}): dockerd refuses it "
                          f"(it takes {', '.join(LOG_LEVELS[:-1] if generation == MFLAG else LOG_LEVELS)})")
    return Setting(setting.key, level, setting.source, written=written if written != level else None)


def _storage_opt(option: str, setting: Setting) -> str:
    # parsers.ParseKeyValueOpt then strings.ToLower(key), as every graph driver reads its options
    # (moby daemon/graphdriver/*/: parseOptions); without "=" the driver fails (verified on 20.10).
    key, eq, value = option.partition("=")
    if not eq:
        raise ConfigError(f"storage option {option!r} ({setting.source}): dockerd's storage driver refuses an "
                          "option without key=value")
    return f"{key.strip().lower()}={value.strip()}"


def _check_log_opts(settings: dict[str, Setting]) -> None:
    """Built-in log drivers match their option names exactly (each driver's ValidateLogOpt, called
    by logger.ValidateLogOpts when dockerd starts) and all of them are lowercase: `Syslog-Address`
    makes dockerd refuse to start (verified on 20.10). Plugins (a name with / or :) check their own."""
    opts = settings.get("log-opts")
    driver = settings.get("log-driver")
    name = str(driver.value) if driver else "json-file"
    if opts is None or "/" in name or ":" in name:
        return
    for key in opts.value:
        if key != key.lower():
            raise ConfigError(f"log opt {key!r} ({opts.source}): the {name} log driver matches option names "
                              f"exactly and dockerd refuses it (did you mean {key.lower()!r}?)")


def config_of(facts: Any) -> EffectiveConfig:
    """The effective configuration of the facts' daemon, computed once per Facts."""
    cached = facts.derived.get("daemon_config")
    if cached is None:
        daemon = facts.daemon
        if daemon.unavailable():
            cached = EffectiveConfig(error=f"daemon not examined: {daemon.unavailable()}")
        else:
            version = facts.engine.version.get("Version") if not facts.engine.unavailable() else None
            cached = effective_config(daemon.argv, daemon.config_file, daemon.config_text, daemon.config_error,
                                      engine_version=version)
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
