"""What the running daemon reports about its own settings through the Engine API.

`docker info` (SecurityOptions, LoggingDriver, RegistryConfig, Driver, LiveRestoreEnabled, ...) and
the default bridge's options are the configuration in force, whatever daemon.json says now. Each
reading here maps one daemon.json key onto the API's answer, and says how to compare it with what
the flags and daemon.json declare (dockerd's default where they declare nothing).
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any, Callable, Optional

from bench.versions import version_at_least

# dockerd puts these into InsecureRegistryCIDRs itself (registry/config.go: loopback is insecure).
IMPLICIT_INSECURE = {"127.0.0.0/8", "::1/128"}
# Engine 24.0 added no-new-privileges to SecurityOptions (moby eb77382): before, its absence says
# nothing.
NO_NEW_PRIVILEGES_REPORTED = (24, 0)
BRIDGE_ICC = "com.docker.network.bridge.enable_icc"
BRIDGE_IP = "com.docker.network.bridge.host_binding_ipv4"


@dataclass(frozen=True)
class Observed:
    value: Any
    source: str


class UnreadableAnswer(ValueError):
    """The Engine API answered in a shape no engine sends (or a facts file was edited so): what it
    says of the setting is unknown, which is no evidence either way."""


def security_options(info: dict[str, Any]) -> dict[str, dict[str, str]]:
    """SecurityOptions ("name=seccomp,profile=default") by name, with their other fields."""
    found = {}
    entries = info.get("SecurityOptions") or []
    if not isinstance(entries, list):
        raise UnreadableAnswer(f"docker info SecurityOptions is {type(entries).__name__}, not a list: a shape no "
                               "engine sends")
    for entry in entries:
        fields = dict(part.partition("=")[::2] for part in str(entry).split(","))
        name = fields.pop("name", str(entry))
        found[name] = fields
    return found


def insecure_registries(info: dict[str, Any]) -> list[str]:
    """Every registry the daemon talks to without TLS verification: the CIDRs it lists (less the
    loopback it adds itself), the indexes it marks insecure, and mirrors reached over plain http."""
    config = info.get("RegistryConfig") or {}
    found = [c for c in config.get("InsecureRegistryCIDRs") or [] if c not in IMPLICIT_INSECURE]
    found += [name for name, index in (config.get("IndexConfigs") or {}).items()
              if isinstance(index, dict) and index.get("Secure") is False]
    found += [m for m in _mirrors(info) if str(m).lower().startswith("http://")]
    return sorted(set(found))


def _mirrors(info: dict[str, Any]) -> list[str]:
    config = info.get("RegistryConfig") or {}
    mirrors = list(config.get("Mirrors") or [])
    for index in (config.get("IndexConfigs") or {}).values():
        if isinstance(index, dict):
            mirrors += index.get("Mirrors") or []
    return sorted({str(m).rstrip("/") for m in mirrors})


def _bridge_option(bridge: Optional[dict[str, Any]], key: str) -> Any:
    if bridge is None:
        return None
    return ((bridge or {}).get("Options") or {}).get(key)


def _bool_text(text: Any) -> Optional[bool]:
    return {"true": True, "false": False}.get(str(text).lower()) if text is not None else None


# key -> (reading of the API's answer or None when it does not say, how the value is named there)
Reading = Callable[[dict[str, Any], Optional[dict[str, Any]], Optional[str]], Optional[Observed]]


def _info(field: str, convert: Callable[[Any], Any] = lambda v: v) -> Reading:
    def read(info: dict[str, Any], bridge: Optional[dict[str, Any]], version: Optional[str]) -> Optional[Observed]:
        if field not in info:
            return None
        return Observed(convert(info[field]), f"docker info {field}")
    return read


def _security(name: str, field: Optional[str] = None, since: Optional[tuple[int, ...]] = None) -> Reading:
    def read(info: dict[str, Any], bridge: Optional[dict[str, Any]], version: Optional[str]) -> Optional[Observed]:
        if "SecurityOptions" not in info or (since and not version_at_least(version or "", since)):
            return None
        options = security_options(info)
        if field is None:
            return Observed(name in options, f"docker info SecurityOptions{'' if name in options else ' without'} {name}")
        if name not in options:
            return None
        return Observed(options[name].get(field, ""), f"docker info SecurityOptions {name} {field}")
    return read


def _bridge(key: str, convert: Callable[[Any], Any]) -> Reading:
    def read(info: dict[str, Any], bridge: Optional[dict[str, Any]], version: Optional[str]) -> Optional[Observed]:
        if bridge == {} and key == BRIDGE_ICC:
            # --bridge=none: there is no default bridge for containers to talk across.
            return Observed(False, "no default bridge (the API has none)")
        value = _bridge_option(bridge, key)
        if value is None:
            return None
        return Observed(convert(value), f"the default bridge's {key.rsplit('.', 1)[-1]}")
    return read


def _registries(info: dict[str, Any], bridge: Optional[dict[str, Any]], version: Optional[str]) -> Optional[Observed]:
    if "RegistryConfig" not in info:
        return None
    return Observed(insecure_registries(info), "docker info RegistryConfig")


def _mirror_reading(info: dict[str, Any], bridge: Optional[dict[str, Any]], version: Optional[str]) -> Optional[Observed]:
    if "RegistryConfig" not in info:
        return None
    return Observed(_mirrors(info), "docker info RegistryConfig mirrors")


def _containerd(info: dict[str, Any], bridge: Optional[dict[str, Any]], version: Optional[str]) -> Optional[Observed]:
    # API 1.46 (Engine 27.0) reports the containerd socket the daemon is connected to.
    address = (info.get("Containerd") or {}).get("Address") if isinstance(info.get("Containerd"), dict) else None
    return Observed(str(address), "docker info Containerd.Address") if address else None


def _plugins(info: dict[str, Any], bridge: Optional[dict[str, Any]], version: Optional[str]) -> Optional[Observed]:
    plugins = info.get("Plugins")
    if not isinstance(plugins, dict) or "Authorization" not in plugins:
        return None
    return Observed(sorted(plugins.get("Authorization") or []), "docker info Plugins Authorization")


READINGS: dict[str, Reading] = {
    "log-driver": _info("LoggingDriver"),
    "storage-driver": _info("Driver"),
    "live-restore": _info("LiveRestoreEnabled", bool),
    "experimental": _info("ExperimentalBuild", bool),
    "debug": _info("Debug", bool),
    "data-root": _info("DockerRootDir"),
    "default-runtime": _info("DefaultRuntime"),
    "userns-remap": _security("userns"),
    "rootless": _security("rootless"),
    "selinux-enabled": _security("selinux"),
    "seccomp-profile": _security("seccomp", "profile"),
    "no-new-privileges": _security("no-new-privileges", since=NO_NEW_PRIVILEGES_REPORTED),
    "icc": _bridge(BRIDGE_ICC, _bool_text),
    "ip": _bridge(BRIDGE_IP, str),
    "insecure-registries": _registries,
    "registry-mirrors": _mirror_reading,
    "authorization-plugins": _plugins,
    "containerd": _containerd,
}


def observe(key: str, info: dict[str, Any], bridge: Optional[dict[str, Any]], version: Optional[str]) -> Optional[Observed]:
    """What the running daemon reports of `key`; None where it does not say. UnreadableAnswer when
    its answer cannot be read."""
    reading = READINGS.get(key)
    try:
        return reading(info, bridge, version) if reading and info else None
    except UnreadableAnswer:
        raise
    except (TypeError, AttributeError, ValueError) as exc:
        raise UnreadableAnswer(f"the Engine API's answer for {key} has a shape no engine sends "
                               f"({type(exc).__name__}: {exc})") from None


# What the flags and daemon.json declare, in the API's terms, for comparing the two. A key missing
# here is compared as it is.
def _as_reported(key: str, declared: Any, resolve: Callable[[str], str]) -> Any:
    if key == "userns-remap":
        return bool(declared)
    if key == "insecure-registries":
        return sorted(set(str(r) for r in declared or []) - IMPLICIT_INSECURE)
    if key == "registry-mirrors":
        return sorted(str(m).rstrip("/") for m in declared or [])
    if key == "authorization-plugins":
        return sorted(declared or [])
    if key == "data-root":
        return resolve(posixpath.normpath(str(declared)))
    return declared


# What dockerd runs with when neither a flag nor daemon.json sets the key; keys whose default the
# daemon chooses itself (the storage driver, the seccomp profile's name) have none here.
DEFAULTS: dict[str, Any] = {
    "log-driver": "json-file", "live-restore": False, "experimental": False, "debug": False, "userns-remap": "",
    "icc": True, "ip": "0.0.0.0", "insecure-registries": [], "registry-mirrors": [], "authorization-plugins": [],
    "no-new-privileges": False, "selinux-enabled": False, "default-runtime": "runc", "userland-proxy": True,
}


def disagrees(key: str, declared: Any, observed: Any, resolve: Callable[[str], str] = lambda p: p) -> bool:
    """Whether the declared value (or dockerd's default) is not what the running daemon reports."""
    if key == "insecure-registries":
        # Declared registries may be hostnames or CIDRs; the API lists both kinds and adds http mirrors.
        return not set(_as_reported(key, declared, resolve)) <= set(observed)
    if key == "containerd":
        # A path either way; "" (or unset) leaves dockerd to find or start a containerd itself.
        return bool(declared) and posixpath.normpath(str(declared)) != posixpath.normpath(str(observed))
    if key == "seccomp-profile":
        # The default profile is reported as "default" (before 23.0) or "builtin".
        return not (declared in (None, "", "default", "builtin") and observed in ("default", "builtin")) \
            and str(declared) != str(observed)
    return _as_reported(key, declared, resolve) != observed
