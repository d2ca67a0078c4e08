"""Keep secrets on the host: container inspect data loses the values that commonly carry them.

Environment variables, command arguments, label values and log-driver options often hold
passwords and tokens. Names are kept (a reviewer may need to know that DB_PASSWORD is set), values
are replaced. This runs in the collector, so neither reports nor recorded facts ever hold them.
"""
from __future__ import annotations

import copy
from typing import Any

REDACTED = "<redacted>"


def _redact_env(env: Any) -> Any:
    if not isinstance(env, list):
        return env
    out = []
    for entry in env:
        if isinstance(entry, str):
            name, eq, _ = entry.partition("=")
            out.append(f"{name}={REDACTED}" if eq else name)
    return out


def _redact_values(mapping: Any) -> Any:
    if not isinstance(mapping, dict):
        return mapping
    return {key: REDACTED for key in mapping}


def _redact_args(args: Any, keep_first: bool) -> Any:
    """Keep the program, drop its arguments (a password on a command line is common enough)."""
    if isinstance(args, str):
        return args.split(" ", 1)[0] + (f" {REDACTED}" if " " in args else "") if keep_first else REDACTED
    if not isinstance(args, list):
        return args
    if keep_first and args:
        return [args[0]] + ([REDACTED] if len(args) > 1 else [])
    return [REDACTED] if args else []


def redact_inspect(data: dict[str, Any], *, in_place: bool = False) -> dict[str, Any]:
    """The inspect data without secret values; a copy, unless the caller owns `data` (freshly
    decoded JSON) and says so with in_place=True, which saves a deep copy per container."""
    if not in_place:
        data = copy.deepcopy(data)
    config = data.get("Config")
    if isinstance(config, dict):
        config["Env"] = _redact_env(config.get("Env"))
        config["Labels"] = _redact_values(config.get("Labels"))
        for key in ("Cmd", "Entrypoint"):
            if key in config:
                config[key] = _redact_args(config[key], keep_first=True)
        health = config.get("Healthcheck")
        if isinstance(health, dict) and "Test" in health:
            health["Test"] = _redact_args(health["Test"], keep_first=True)
    if "Args" in data:
        data["Args"] = _redact_args(data["Args"], keep_first=False)
    health = (data.get("State") or {}).get("Health") if isinstance(data.get("State"), dict) else None
    if isinstance(health, dict) and isinstance(health.get("Log"), list):
        # What a health probe printed can be anything the application says; its exit code is the verdict.
        health["Log"] = [{k: v for k, v in entry.items() if k != "Output"} if isinstance(entry, dict) else entry
                         for entry in health["Log"]]
    host_config = data.get("HostConfig")
    if isinstance(host_config, dict):
        log_config = host_config.get("LogConfig")
        if isinstance(log_config, dict):
            log_config["Config"] = _redact_values(log_config.get("Config"))
    # Storage-driver internals: long, host-specific and never audited.
    data.pop("GraphDriver", None)
    return data


_SECRET_OPTION = ("password", "pass", "passwd", "secret", "token", "key")


def redact_volume(data: dict[str, Any]) -> dict[str, Any]:
    """A volume's inspect data without credentials in its driver options (cifs and nfs mounts carry
    `password=` in `o`); the options that say what is mounted (type, o's flags, device) stay."""
    options = data.get("Options")
    if isinstance(options, dict):
        cleaned = {}
        for key, value in options.items():
            if str(key).lower() in _SECRET_OPTION:
                cleaned[key] = REDACTED
            elif str(key) == "o" and isinstance(value, str):
                parts = []
                for part in value.split(","):
                    name, eq, _ = part.partition("=")
                    parts.append(f"{name}={REDACTED}" if eq and name.lower() in _SECRET_OPTION else part)
                cleaned[key] = ",".join(parts)
            else:
                cleaned[key] = value
        data = {**data, "Options": cleaned}
    return data
