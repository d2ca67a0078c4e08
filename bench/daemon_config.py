"""dockerd's effective configuration: its command-line flags merged with the daemon.json it reads.

Every value keeps where it came from, so a report can say "icc=false from daemon.json" or
"log-level=debug from flag --log-level=debug". Settings are named by their daemon.json keys; flags
are translated (--insecure-registry -> insecure-registries). Parsing is pure: it takes the argv and
the file text recorded in the facts, which is what makes recorded hosts replayable.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

# kind: bool | string | int | list (repeatable flag, JSON array of strings) | map (key=value flag,
# JSON object of strings) | ulimits (name=soft[:hard] flag, JSON object of {Name, Soft, Hard}) |
# any (JSON only, left unvalidated).
_OPTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # key, kind, flags
    ("add-runtime", "list", ("--add-runtime",)),
    ("allow-nondistributable-artifacts", "list", ("--allow-nondistributable-artifacts",)),
    ("api-cors-header", "string", ("--api-cors-header",)),
    ("authorization-plugins", "list", ("--authorization-plugin",)),
    ("bip", "string", ("--bip",)),
    ("bridge", "string", ("-b", "--bridge")),
    ("builder", "any", ()),
    ("cdi-spec-dirs", "list", ("--cdi-spec-dir",)),
    ("cgroup-parent", "string", ("--cgroup-parent",)),
    ("cluster-advertise", "string", ("--cluster-advertise",)),
    ("cluster-store", "string", ("--cluster-store",)),
    ("cluster-store-opts", "map", ("--cluster-store-opt",)),
    ("containerd", "string", ("--containerd",)),
    ("containerd-namespace", "string", ("--containerd-namespace",)),
    ("containerd-plugins-namespace", "string", ("--containerd-plugins-namespace",)),
    ("cpu-rt-period", "int", ("--cpu-rt-period",)),
    ("cpu-rt-runtime", "int", ("--cpu-rt-runtime",)),
    ("cri-containerd", "bool", ("--cri-containerd",)),
    ("data-root", "string", ("--data-root",)),
    ("debug", "bool", ("-D", "--debug")),
    ("default-address-pools", "any", ("--default-address-pool",)),
    ("default-cgroupns-mode", "string", ("--default-cgroupns-mode",)),
    ("default-gateway", "string", ("--default-gateway",)),
    ("default-gateway-v6", "string", ("--default-gateway-v6",)),
    ("default-ipc-mode", "string", ("--default-ipc-mode",)),
    ("default-network-opts", "any", ("--default-network-opt",)),
    ("default-runtime", "string", ("--default-runtime",)),
    ("default-shm-size", "string", ("--default-shm-size",)),
    ("default-ulimits", "ulimits", ("--default-ulimit",)),
    ("disable-legacy-registry", "bool", ("--disable-legacy-registry",)),
    ("dns", "list", ("--dns",)),
    ("dns-opts", "list", ("--dns-opt",)),
    ("dns-search", "list", ("--dns-search",)),
    ("exec-driver", "string", ("-e", "--exec-driver")),
    ("exec-opts", "list", ("--exec-opt",)),
    ("exec-root", "string", ("--exec-root",)),
    ("experimental", "bool", ("--experimental",)),
    ("features", "any", ("--feature",)),
    ("firewall-backend", "string", ("--firewall-backend",)),
    ("fixed-cidr", "string", ("--fixed-cidr",)),
    ("fixed-cidr-v6", "string", ("--fixed-cidr-v6",)),
    ("graph", "string", ("-g", "--graph")),
    ("group", "string", ("-G", "--group")),
    ("host-gateway-ip", "string", ("--host-gateway-ip",)),
    ("hosts", "list", ("-H", "--host")),
    ("http-proxy", "string", ("--http-proxy",)),
    ("https-proxy", "string", ("--https-proxy",)),
    ("icc", "bool", ("--icc",)),
    ("init", "bool", ("--init",)),
    ("init-path", "string", ("--init-path",)),
    ("insecure-registries", "list", ("--insecure-registry",)),
    ("ip", "string", ("--ip",)),
    ("ip-forward", "bool", ("--ip-forward",)),
    ("ip-forward-no-drop", "bool", ("--ip-forward-no-drop",)),
    ("ip-masq", "bool", ("--ip-masq",)),
    ("ip6tables", "bool", ("--ip6tables",)),
    ("iptables", "bool", ("--iptables",)),
    ("ipv6", "bool", ("--ipv6",)),
    ("labels", "list", ("--label",)),
    ("live-restore", "bool", ("--live-restore",)),
    ("log-driver", "string", ("--log-driver",)),
    ("log-format", "string", ("--log-format",)),
    ("log-level", "string", ("-l", "--log-level")),
    ("log-opts", "map", ("--log-opt",)),
    ("max-concurrent-downloads", "int", ("--max-concurrent-downloads",)),
    ("max-concurrent-uploads", "int", ("--max-concurrent-uploads",)),
    ("max-download-attempts", "int", ("--max-download-attempts",)),
    ("metrics-addr", "string", ("--metrics-addr",)),
    ("min-api-version", "string", ("--min-api-version",)),
    ("mtu", "int", ("--mtu",)),
    ("network-control-plane-mtu", "int", ("--network-control-plane-mtu",)),
    ("no-new-privileges", "bool", ("--no-new-privileges",)),
    ("no-proxy", "string", ("--no-proxy",)),
    ("node-generic-resources", "list", ("--node-generic-resource",)),
    ("oom-score-adjust", "int", ("--oom-score-adjust",)),
    ("pidfile", "string", ("-p", "--pidfile")),
    ("proxies", "any", ()),
    ("raw-logs", "bool", ("--raw-logs",)),
    ("registry-mirrors", "list", ("--registry-mirror",)),
    ("rootless", "bool", ("--rootless",)),
    ("runtimes", "any", ()),
    ("seccomp-profile", "string", ("--seccomp-profile",)),
    ("selinux-enabled", "bool", ("--selinux-enabled",)),
    ("shutdown-timeout", "int", ("--shutdown-timeout",)),
    ("storage-driver", "string", ("-s", "--storage-driver")),
    ("storage-opts", "list", ("--storage-opt",)),
    ("swarm-default-advertise-addr", "string", ("--swarm-default-advertise-addr",)),
    ("tls", "bool", ("--tls",)),
    ("tlscacert", "string", ("--tlscacert",)),
    ("tlscert", "string", ("--tlscert",)),
    ("tlskey", "string", ("--tlskey",)),
    ("tlsverify", "bool", ("--tlsverify",)),
    ("userland-proxy", "bool", ("--userland-proxy",)),
    ("userland-proxy-path", "string", ("--userland-proxy-path",)),
    ("userns-remap", "string", ("--userns-remap",)),
    ("validate", "bool", ("--validate",)),
)

OPTION_KINDS: dict[str, str] = {key: kind for key, kind, _ in _OPTIONS}
_FLAG_TO_KEY: dict[str, str] = {flag: key for key, _, flags in _OPTIONS for flag in flags}
# Flags that are not settings: where the config file is, and flags that print and exit.
_CONTROL_FLAGS = {"--config-file": "string", "--help": "bool", "-v": "bool", "--version": "bool"}

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class ConfigError(ValueError):
    """daemon.json (or the daemon's command line) cannot be turned into a configuration."""


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    source: str  # "flag --icc=false", "daemon.json /etc/docker/daemon.json"

    def describe(self) -> str:
        return f"{self.key}={format_value(self.value)} ({self.source})"


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


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def strip_daemon_command(argv: list[str]) -> list[str]:
    """The daemon's own options: drop `dockerd`, or `docker daemon` / `docker -d` (Engine <= 1.11)."""
    if not argv:
        return []
    rest = list(argv[1:])
    program = argv[0].rsplit("/", 1)[-1]
    if program == "docker" and rest and rest[0] in ("daemon", "-d", "--daemon"):
        rest = rest[1:]
    return rest


def parse_flags(argv: list[str]) -> tuple[dict[str, Setting], dict[str, str], list[str]]:
    """Parse the daemon's argv as Go's pflag would.

    Returns (settings by daemon.json key, control flags such as --config-file, notes).
    Raises ConfigError when a known flag has an unusable value.
    """
    args = strip_daemon_command(argv)
    settings: dict[str, Setting] = {}
    control: dict[str, str] = {}
    notes: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            notes.append(f"ignored argument {arg!r}")
            continue
        name, has_value, inline = _split_flag(arg)
        key = _FLAG_TO_KEY.get(name)
        kind = OPTION_KINDS.get(key) if key else _CONTROL_FLAGS.get(name)
        if kind is None:
            notes.append(f"unrecognised flag {name}")
            continue
        if kind == "bool":
            if has_value:
                if inline in _TRUE:
                    value: Any = True
                elif inline in _FALSE:
                    value = False
                else:
                    raise ConfigError(f"flag {name} takes true or false, not {inline!r}")
            else:
                value = True
            text = arg
        else:
            if not has_value:
                if i >= len(args):
                    raise ConfigError(f"flag {name} needs a value")
                inline = args[i]
                i += 1
                text = f"{arg} {inline}"
            else:
                text = arg
            value = inline
        if key is None:
            control[name] = value
            continue
        source = f"flag {text}"
        settings[key] = _add_flag_value(settings.get(key), key, kind, value, source, name)
    return settings, control, notes


def _split_flag(arg: str) -> tuple[str, bool, str]:
    if arg.startswith("--"):
        name, eq, value = arg.partition("=")
        return name, bool(eq), value
    # Short flags: -l info, -l=info, -linfo; -D (bool).
    name, rest = arg[:2], arg[2:]
    if rest.startswith("="):
        return name, True, rest[1:]
    if rest:
        return name, True, rest
    return name, False, ""


def _add_flag_value(previous: Optional[Setting], key: str, kind: str, value: Any, source: str,
                    name: str) -> Setting:
    if kind in ("bool", "string", "any"):
        return Setting(key, value, source)
    if kind == "int":
        try:
            return Setting(key, int(value), source)
        except ValueError:
            raise ConfigError(f"flag {name} takes an integer, not {value!r}") from None
    if kind == "list":
        items = list(previous.value) if previous else []
        items.append(value)
        return Setting(key, items, _join_sources(previous, source))
    if kind == "map":
        mapping = dict(previous.value) if previous else {}
        k, eq, v = value.partition("=")
        if not eq:
            raise ConfigError(f"flag {name} takes key=value, not {value!r}")
        mapping[k] = v
        return Setting(key, mapping, _join_sources(previous, source))
    if kind == "ulimits":
        limits = dict(previous.value) if previous else {}
        limit = parse_ulimit(value, name)
        limits[limit["Name"]] = limit
        return Setting(key, limits, _join_sources(previous, source))
    raise AssertionError(kind)


def _join_sources(previous: Optional[Setting], source: str) -> str:
    if previous is None:
        return source
    return previous.source + ", " + source.removeprefix("flag ")


def parse_ulimit(text: str, name: str = "--default-ulimit") -> dict[str, Any]:
    limit_name, eq, limits = text.partition("=")
    soft_text, _, hard_text = limits.partition(":")
    try:
        soft = int(soft_text)
        hard = int(hard_text) if hard_text else soft
    except ValueError:
        raise ConfigError(f"flag {name} takes name=soft[:hard], not {text!r}") from None
    if not eq or not limit_name:
        raise ConfigError(f"flag {name} takes name=soft[:hard], not {text!r}")
    return {"Name": limit_name, "Soft": soft, "Hard": hard}


def parse_daemon_json(text: str, path: str) -> dict[str, Setting]:
    """Settings from daemon.json text; ConfigError names the file and the problem."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: invalid JSON ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{path}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a JSON object")
    unknown = sorted(key for key in data if key not in OPTION_KINDS)
    if unknown:
        # dockerd refuses to start with unknown keys, so the running daemon did not read this file
        # as it stands now: what it runs with cannot be known from it.
        raise ConfigError(f"{path}: unknown key{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(repr(k) for k in unknown)} (dockerd refuses such a file)")
    source = f"daemon.json {path}"
    settings = {}
    for key, value in data.items():
        _check_json_type(key, value, path)
        settings[key] = Setting(key, value, source)
    return settings


def _check_json_type(key: str, value: Any, path: str) -> None:
    kind = OPTION_KINDS[key]
    problem = None
    if kind == "bool" and not isinstance(value, bool):
        problem = "true or false"
    elif kind == "string" and not isinstance(value, str):
        problem = "a string"
    elif kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        problem = "an integer"
    elif kind == "list" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        problem = "a list of strings"
    elif kind == "map" and not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
        problem = "an object of strings"
    elif kind == "ulimits":
        if not isinstance(value, dict) or not all(_is_ulimit(v) for v in value.values()):
            problem = 'an object of {"Name", "Soft", "Hard"} limits'
    if problem:
        raise ConfigError(f"{path}: {key!r} must be {problem}, not {json.dumps(value)[:60]}")


def _is_ulimit(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("Name"), str)
            and all(isinstance(value.get(k), int) and not isinstance(value.get(k), bool)
                    for k in ("Soft", "Hard")))


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
