"""A recorded host's Engine API answers made to match its daemon's configuration, as they would be
after the daemon (re)started with it: what dockerd reports in `docker info` and on the default
bridge for each setting the auditor reads from there (bench/daemon/observed.py reads them back).

A fixture that changes the daemon's flags or daemon.json describes a daemon started that way, unless
it says `running: as_before` (daemon.json edited since the daemon started, not applied)."""
from __future__ import annotations

from typing import Any

from bench.daemon import effective_config, listen_addresses
from bench.daemon.listeners import listen_streams

IMPLICIT_INSECURE = ["::1/128", "127.0.0.0/8"]


def as_restarted(data: dict[str, Any]) -> dict[str, Any]:
    daemon, engine = data["daemon"], data["engine"]
    if daemon.get("error") or engine.get("error") or not engine.get("info"):
        return data
    config = effective_config(daemon["argv"], daemon.get("config_file"), daemon.get("config_text"),
                              daemon.get("config_error"), engine_version=(engine.get("version") or {}).get("Version"))
    if config.error:
        return data   # dockerd would not start with it: the running daemon is the one from before

    def value(key: str, default: Any) -> Any:
        found = config.value(key)
        return default if found in (None, "", [], {}) else found

    info = engine["info"]
    info["LoggingDriver"] = value("log-driver", "json-file")
    info["Debug"] = bool(value("debug", False))
    info["LiveRestoreEnabled"] = bool(value("live-restore", False))
    info["ExperimentalBuild"] = bool(value("experimental", False))
    info["DefaultRuntime"] = value("default-runtime", "runc")
    info["DockerRootDir"] = value("data-root", value("graph", info.get("DockerRootDir") or "/var/lib/docker"))
    if value("storage-driver", None):
        info["Driver"] = value("storage-driver", None)
    plugins = info.setdefault("Plugins", {})
    plugins["Authorization"] = list(value("authorization-plugins", []))
    options = [o for o in info.get("SecurityOptions") or [] if o.split(",")[0] in ("name=apparmor", "name=selinux")]
    options.append(f"name=seccomp,profile={value('seccomp-profile', 'builtin')}")
    if value("userns-remap", ""):
        options.append("name=userns")
    if value("rootless", False) is True:
        options.append("name=rootless")
    if value("no-new-privileges", False) is True:
        options.append("name=no-new-privileges")
    info["SecurityOptions"] = options
    registries = [str(r) for r in value("insecure-registries", [])]
    mirrors = [str(m).rstrip("/") + "/" for m in value("registry-mirrors", [])]
    info["RegistryConfig"] = {
        "InsecureRegistryCIDRs": IMPLICIT_INSECURE + [r for r in registries if "/" in r],
        "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": mirrors, "Secure": True, "Official": True},
                         **{r: {"Name": r, "Mirrors": [], "Secure": False, "Official": False}
                            for r in registries if "/" not in r}},
        "Mirrors": mirrors,
    }
    listeners = _listeners(data, config)
    if listeners is not None and daemon.get("listeners") is not None:
        daemon["listeners"] = listeners
    bridge = engine.get("default_bridge")
    if isinstance(bridge, dict) and bridge:
        bridge.setdefault("Options", {}).update({
            "com.docker.network.bridge.enable_icc": "true" if value("icc", True) is not False else "false",
            "com.docker.network.bridge.host_binding_ipv4": str(value("ip", "0.0.0.0")),
        })
    return data


def _listeners(data: dict[str, Any], config: Any) -> Any:
    """The sockets dockerd holds after starting with `config`: its addresses (fd:// the socket unit's),
    and dockerd's own metrics socket."""
    daemon = data["daemon"]
    unit = next((f.get("content") for p, f in data["files"]["files"].items() if p.endswith("/docker.socket")), None)
    found = [{"kind": "unix", "address": "/var/run/docker/metrics.sock"}]
    for address in listen_addresses(config, daemon.get("uid") if daemon.get("rootless") else None,
                                    environ=daemon.get("environ")):
        scheme, _, rest = address.partition("://")
        if scheme == "unix":
            found.append({"kind": "unix", "address": rest})
        elif scheme == "tcp":
            host, _, port = rest.rpartition(":")
            host = {"localhost": "127.0.0.1", "": "0.0.0.0"}.get(host, host)
            found.append({"kind": "tcp", "address": f"{host}:{port}"})
        elif scheme == "fd":
            for stream in listen_streams(unit):
                found.append({"kind": "unix", "address": stream} if stream.startswith("/")
                             else {"kind": "tcp", "address": stream if ":" in stream else f"[::]:{stream}"})
    return sorted(found, key=lambda l: (l["kind"], l["address"]))
