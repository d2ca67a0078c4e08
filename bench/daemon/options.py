"""The options dockerd takes, by their daemon.json names, with their kinds and flags, and the
value of one option together with where it was set.

Two generations of dockerd parse their command line differently and know different options:

- PFLAG: `dockerd` from Engine 1.13 on, parsed by spf13/pflag (moby daemon/command/config*.go,
  options.go; before 2025 cmd/dockerd/). The table holds every option any of these releases took,
  removed ones included (-g/--graph, --cluster-store ...), since a host may run any of them.
- MFLAG: Engine 1.12's `dockerd` and earlier `docker daemon` (1.8-1.11) or `docker -d` (before
  1.8), parsed by Docker's own pkg/mflag (moby v1.11.2 docker/common.go, daemon/config.go,
  daemon/config_unix.go, registry/config.go; v1.12.6 cmd/dockerd). That set is closed: no release
  will add to it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

PFLAG = "pflag"
MFLAG = "mflag"

# kind: bool | string | int | list (repeatable flag, JSON array of strings) | map (key=value flag,
# JSON object of strings) | ulimits (name=soft[:hard] flag, JSON object of {Name, Soft, Hard}) |
# any (left unvalidated: a JSON structure, or a flag whose value dockerd parses further).
# flags: spellings for the pflag generation; legacy: for mflag, where a single dash before a long
# name is its own spelling ("-icc" was a deprecated alias of "--icc"; "-insecure-registry" was not).
# json: whether dockerd reads the key from daemon.json (False: the option exists as a flag only).
# Rows: key, kind, flags, legacy, json.
_ROWS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("allow-direct-routing", "bool", "--allow-direct-routing", "", True),
    ("allow-nondistributable-artifacts", "list", "--allow-nondistributable-artifacts", "", True),
    ("api-cors-header", "string", "--api-cors-header", "--api-cors-header", True),
    ("api-enable-cors", "bool", "", "-api-enable-cors --api-enable-cors", True),
    ("authorization-plugins", "list", "--authorization-plugin", "--authorization-plugin", True),
    ("bip", "string", "--bip", "-bip --bip", True),
    ("bip6", "string", "--bip6", "", True),
    ("bridge", "string", "-b --bridge", "-b --bridge", True),
    ("bridge-accept-fwmark", "string", "--bridge-accept-fwmark", "", True),
    ("builder", "any", "", "", True),
    ("cdi-spec-dirs", "list", "--cdi-spec-dir", "", True),
    ("cgroup-parent", "string", "--cgroup-parent", "--cgroup-parent", True),
    ("cluster-advertise", "string", "--cluster-advertise", "--cluster-advertise", True),
    ("cluster-store", "string", "--cluster-store", "--cluster-store", True),
    ("cluster-store-opts", "map", "--cluster-store-opt", "--cluster-store-opt", True),
    ("containerd", "string", "--containerd", "--containerd", True),
    ("containerd-namespace", "string", "--containerd-namespace", "", True),
    # Its JSON tag is "containerd-plugin-namespace", which no flag matches, so dockerd refuses that
    # key and ignores this one: the option can be set by flag only.
    ("containerd-plugins-namespace", "string", "--containerd-plugins-namespace", "", False),
    ("cpu-rt-period", "int", "--cpu-rt-period", "", True),
    ("cpu-rt-runtime", "int", "--cpu-rt-runtime", "", True),
    ("cri-containerd", "bool", "--cri-containerd", "", True),
    ("data-root", "string", "--data-root", "", True),
    ("debug", "bool", "-D --debug", "-D --debug", True),
    ("default-address-pools", "any", "--default-address-pool", "", True),
    ("default-cgroupns-mode", "string", "--default-cgroupns-mode", "", True),
    ("default-gateway", "string", "--default-gateway", "--default-gateway", True),
    ("default-gateway-v6", "string", "--default-gateway-v6", "--default-gateway-v6", True),
    ("default-ipc-mode", "string", "--default-ipc-mode", "", True),
    ("default-network-opts", "any", "--default-network-opt", "", True),
    ("default-runtime", "string", "--default-runtime", "--default-runtime", True),
    ("default-shm-size", "string", "--default-shm-size", "", True),
    ("default-stop-timeout", "int", "--default-stop-timeout", "", True),
    # Engine 1.11/1.12 took default ulimits as flags only: their flag value had no daemon.json name.
    ("default-ulimits", "ulimits", "--default-ulimit", "--default-ulimit", True),
    ("disable-legacy-registry", "bool", "--disable-legacy-registry", "--disable-legacy-registry", True),
    ("dns", "list", "--dns", "-dns --dns", True),
    ("dns-opts", "list", "--dns-opt", "--dns-opt", True),
    ("dns-search", "list", "--dns-search", "--dns-search", True),
    ("exec-driver", "string", "", "-e --exec-driver", False),
    ("exec-opts", "list", "--exec-opt", "--exec-opt", True),
    ("exec-root", "string", "--exec-root", "--exec-root", True),
    ("experimental", "bool", "--experimental", "", True),
    ("features", "any", "--feature", "", True),
    ("firewall-backend", "string", "--firewall-backend", "", True),
    ("fixed-cidr", "string", "--fixed-cidr", "--fixed-cidr", True),
    ("fixed-cidr-v6", "string", "--fixed-cidr-v6", "--fixed-cidr-v6", True),
    ("graph", "string", "-g --graph", "-g --graph", True),
    ("group", "string", "-G --group", "-G --group", True),
    ("host-gateway-ip", "string", "", "", True),
    ("host-gateway-ips", "list", "--host-gateway-ip", "", True),
    ("hosts", "list", "-H --host", "-H --host", True),
    ("http-proxy", "string", "--http-proxy", "", True),
    ("https-proxy", "string", "--https-proxy", "", True),
    ("icc", "bool", "--icc", "-icc --icc", True),
    ("identity", "string", "", "-i --identity", False),
    ("init", "bool", "--init", "", True),
    ("init-path", "string", "--init-path", "", True),
    ("insecure-registries", "list", "--insecure-registry", "--insecure-registry", True),
    ("ip", "string", "--ip", "-ip --ip", True),
    ("ip-forward", "bool", "--ip-forward", "-ip-forward --ip-forward", True),
    ("ip-forward-no-drop", "bool", "--ip-forward-no-drop", "", True),
    ("ip-masq", "bool", "--ip-masq", "--ip-masq", True),
    ("ip6tables", "bool", "--ip6tables", "", True),
    ("iptables", "bool", "--iptables", "-iptables --iptables", True),
    ("ipv6", "bool", "--ipv6", "--ipv6", True),
    ("labels", "list", "--label", "--label", True),
    ("live-restore", "bool", "--live-restore", "--live-restore", True),
    ("log-driver", "string", "--log-driver", "--log-driver", True),
    ("log-format", "string", "--log-format", "", True),
    ("log-level", "string", "-l --log-level", "-l --log-level", True),
    ("log-opts", "map", "--log-opt", "--log-opt", True),
    ("max-concurrent-downloads", "int", "--max-concurrent-downloads", "--max-concurrent-downloads", True),
    ("max-concurrent-uploads", "int", "--max-concurrent-uploads", "--max-concurrent-uploads", True),
    ("max-download-attempts", "int", "--max-download-attempts", "", True),
    ("metrics-addr", "string", "--metrics-addr", "", True),
    ("min-api-version", "string", "", "", True),
    ("mtu", "int", "--mtu", "-mtu --mtu", True),
    ("network-control-plane-mtu", "int", "--network-control-plane-mtu", "", True),
    ("network-diagnostic-port", "int", "--network-diagnostic-port", "", True),
    ("no-new-privileges", "bool", "--no-new-privileges", "", True),
    ("no-proxy", "string", "--no-proxy", "", True),
    ("node-generic-resources", "list", "--node-generic-resource", "", True),
    ("nri-opts", "any", "--nri-opts", "", True),
    ("oom-score-adjust", "int", "--oom-score-adjust", "--oom-score-adjust", True),
    ("pidfile", "string", "-p --pidfile", "-p --pidfile", True),
    ("proxies", "any", "", "", True),
    ("raw-logs", "bool", "--raw-logs", "--raw-logs", True),
    ("registry-mirrors", "list", "--registry-mirror", "--registry-mirror", True),
    ("restart", "bool", "-r --restart", "-r --restart", False),
    ("rootless", "bool", "--rootless", "", True),
    ("runtimes", "any", "--add-runtime", "--add-runtime", True),
    ("seccomp-profile", "string", "--seccomp-profile", "", True),
    ("selinux-enabled", "bool", "--selinux-enabled", "--selinux-enabled", True),
    ("shutdown-timeout", "int", "--shutdown-timeout", "", True),
    ("storage-driver", "string", "-s --storage-driver", "-s --storage-driver", True),
    ("storage-opts", "list", "--storage-opt", "--storage-opt", True),
    ("swarm-default-advertise-addr", "string", "--swarm-default-advertise-addr",
     "--swarm-default-advertise-addr", True),
    ("tls", "bool", "--tls", "--tls", True),
    ("tlscacert", "string", "--tlscacert", "--tlscacert", True),
    ("tlscert", "string", "--tlscert", "--tlscert", True),
    ("tlskey", "string", "--tlskey", "--tlskey", True),
    ("tlsverify", "bool", "--tlsverify", "--tlsverify", True),
    ("userland-proxy", "bool", "--userland-proxy", "--userland-proxy", True),
    ("userland-proxy-path", "string", "--userland-proxy-path", "", True),
    ("userns-remap", "string", "--userns-remap", "--userns-remap", True),
)

# Options of the legacy generation that its daemon.json could not carry although the pflag one can.
_LEGACY_FLAG_ONLY = frozenset({"default-ulimits"})


@dataclass(frozen=True)
class Option:
    key: str
    kind: str
    flags: tuple[str, ...]
    legacy: tuple[str, ...]
    json: bool

    def spellings(self, generation: str) -> tuple[str, ...]:
        return self.legacy if generation == MFLAG else self.flags

    def in_json(self, generation: str) -> bool:
        if generation == MFLAG:
            return self.json and bool(self.legacy) and self.key not in _LEGACY_FLAG_ONLY
        return self.json and (bool(self.flags) or self.key not in _MFLAG_ONLY)

    def primary_flag(self, generation: str) -> Optional[str]:
        """The canonical spelling: the long flag (what dockerd --help shows)."""
        longs = [f for f in self.spellings(generation) if f.startswith("--")]
        return longs[0] if longs else None


OPTIONS: dict[str, Option] = {key: Option(key, kind, tuple(flags.split()), tuple(legacy.split()), json)
                              for key, kind, flags, legacy, json in _ROWS}
# Keys only the legacy generation had (no pflag flag and no JSON name of their own in pflag dockerd).
_MFLAG_ONLY = frozenset({"api-enable-cors", "exec-driver", "identity"})

OPTION_KINDS: dict[str, str] = {key: option.kind for key, option in OPTIONS.items()}

# Flags that are not settings: where the config file is, and flags that make dockerd print and exit
# (a running daemon was not started with those). pflag: cobra adds -h/--help; mflag: `docker -d`
# before Engine 1.8 was itself a flag of the docker command.
CONTROL: dict[str, dict[str, str]] = {
    PFLAG: {"--config-file": "string", "-h": "bool", "--help": "bool", "-v": "bool", "--version": "bool",
            "--validate": "bool"},
    MFLAG: {"--config-file": "string", "-h": "bool", "--help": "bool", "-help": "bool", "-v": "bool",
            "--version": "bool", "-d": "bool", "--daemon": "bool"},
}
# The canonical name of a control flag whatever its spelling.
CONTROL_NAMES = {"-h": "--help", "-help": "--help", "-v": "--version", "-d": "--daemon"}


def flag_table(generation: str) -> dict[str, tuple[Optional[str], str]]:
    """Every spelling of a flag -> (its option key, or None for a control flag; its kind)."""
    table: dict[str, tuple[Optional[str], str]] = {}
    for option in OPTIONS.values():
        for spelling in option.spellings(generation):
            table[spelling] = (option.key, option.kind)
    for spelling, kind in CONTROL[generation].items():
        table[spelling] = (None, kind)
    return table


FLAG_TABLES = {PFLAG: flag_table(PFLAG), MFLAG: flag_table(MFLAG)}
FLAG_TO_KEY: dict[str, str] = {flag: key for flag, (key, _) in FLAG_TABLES[PFLAG].items() if key}

# daemon.json objects dockerd reads as one value; any other object's members are read as if they
# were top-level keys (moby daemon/config/config.go flatOptions and configValuesSet).
FLAT_KEYS = frozenset({"cluster-store-opts", "default-network-opts", "log-opts", "runtimes", "default-ulimits",
                       "features", "builder", "nri-opts"})
# Keys dockerd accepts without a flag of that name (skipValidateOptions); the last two it ignores.
ACCEPTED_WITHOUT_FLAG = frozenset({"features", "builder", "min-api-version", "deprecated-key-path",
                                   "allow-nondistributable-artifacts"})
IGNORED_KEYS = frozenset({"deprecated-key-path"})


def json_keys(generation: str) -> dict[str, Option]:
    """daemon.json keys dockerd of this generation reads, with their options."""
    return {key: option for key, option in OPTIONS.items() if option.in_json(generation)}


def flag_named_keys(generation: str) -> dict[str, str]:
    """Long flag names that are not daemon.json keys -> the option they set. dockerd's check for
    unknown keys looks names up among its flags, so it accepts these, but its JSON decoding has no
    field of that name: the value is ignored (unless the flag is a bool: see daemon_json)."""
    names: dict[str, str] = {}
    readable = json_keys(generation)
    for option in OPTIONS.values():
        for spelling in option.spellings(generation):
            if spelling.startswith("--") and spelling[2:] not in readable:
                names[spelling[2:]] = option.key
    for spelling in CONTROL[generation]:
        if spelling.startswith("--"):
            names[spelling[2:]] = spelling
    return names


class ConfigError(ValueError):
    """daemon.json (or the daemon's command line) cannot be turned into a configuration."""


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    source: str  # "flag --icc=false", "daemon.json /etc/docker/daemon.json"
    # What was written, when dockerd reads it as something else ("INFO" for log-level info).
    written: Any = None

    def describe(self) -> str:
        shown = f"{self.key}={format_value(self.value)} ({self.source}"
        if self.written is not None and self.written != self.value:
            shown += f", written {format_value(self.written)}"
        return shown + ")"


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)
