"""The options dockerd takes, by their daemon.json names, with their kinds and flags, and the
value of one option together with where it was set."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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
FLAG_TO_KEY: dict[str, str] = {flag: key for key, _, flags in _OPTIONS for flag in flags}
# Flags that are not settings: where the config file is, and flags that print and exit.
CONTROL_FLAGS = {"--config-file": "string", "--help": "bool", "-v": "bool", "--version": "bool"}

class ConfigError(ValueError):
    """daemon.json (or the daemon's command line) cannot be turned into a configuration."""


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    source: str  # "flag --icc=false", "daemon.json /etc/docker/daemon.json"

    def describe(self) -> str:
        return f"{self.key}={format_value(self.value)} ({self.source})"


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)
