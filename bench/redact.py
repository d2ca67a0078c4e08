"""Keep secrets on the host: container inspect data, image config and image history lose the
values that commonly carry them.

Environment variables, command arguments, label values and log-driver options often hold
passwords and tokens. Names are kept (a reviewer may need to know that DB_PASSWORD is set), values
are replaced. An image's history keeps its instructions and commands, which the image checks read,
without the values of variables, build arguments and labels, or anything shaped like a credential.
This runs in the collector, so neither reports nor recorded facts ever hold them.
"""
from __future__ import annotations

import copy
import functools
import re
from typing import Any, Optional

from bench.image_history import assignments, parse_step
from bench.secret_text import MARKER, TOKENS, is_reference, is_secret_name, marker, token_kind

from bench.secret_text import REDACTED


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


# Volume driver options (and `o` flags) whose value is a credential.
_SECRET_VOLUME_OPTIONS = frozenset({"password", "pass", "passwd", "secret", "token", "key"})


def redact_volume(data: dict[str, Any]) -> dict[str, Any]:
    """A volume's inspect data without credentials in its driver options (cifs and nfs mounts carry
    `password=` in `o`); the options that say what is mounted (type, o's flags, device) stay."""
    options = data.get("Options")
    if isinstance(options, dict):
        cleaned = {}
        for key, value in options.items():
            if str(key).lower() in _SECRET_VOLUME_OPTIONS:
                cleaned[key] = REDACTED
            elif str(key) == "o" and isinstance(value, str):
                parts = []
                for part in value.split(","):
                    name, eq, _ = part.partition("=")
                    parts.append(f"{name}={REDACTED}" if eq and name.lower() in _SECRET_VOLUME_OPTIONS else part)
                cleaned[key] = ",".join(parts)
            else:
                cleaned[key] = value
        data = {**data, "Options": cleaned}
    return data


# -- images: config and history ------------------------------------------------------------------

def value_flags(entries: Any) -> dict[str, bool]:
    """["A=1", "B="] or {"A": "1"} -> {"A": True, "B": False}: the names, and whether each has a
    non-empty value; the values themselves are dropped."""
    if isinstance(entries, dict):
        return {str(k): bool(v) for k, v in entries.items()}
    flags: dict[str, bool] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, str):
            name, _, value = entry.partition("=")
            flags[name] = bool(value)
    return flags


def redact_healthcheck(health: Any) -> Optional[list[str]]:
    """Config.Healthcheck.Test as a container's is kept: its kind and program, no arguments."""
    if not isinstance(health, dict):
        return None
    test = health.get("Test")
    if not isinstance(test, list):
        return []
    return [str(t) for t in _redact_args(test, keep_first=True)]


_URL_PASSWORD = re.compile(r"""(\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'"]*):([^@/\s'"]+)@""")
_AUTH_HEADER = re.compile(r"""((?i:authorization)\s*:\s*(?i:bearer|basic|token)\s+)([^\s'"]+)""")
_USER_PASSWORD = re.compile(r"""((?:^|\s)(?:-u|--user)(?:=|\s+)[^\s:'"]+):([^\s'"]+)""")
_SECRET_ASSIGNMENT = re.compile(r"""(?<![\w$])([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|[^\s;&|]*)""")
_SECRET_OPTION = re.compile(r"""(?<!\S)(--[A-Za-z][\w-]*)(=|[ \t]+)("[^"]*"|'[^']*'|[^\s;&|]+)""")
_MYSQL_PASSWORD = re.compile(r"(\s-p)([^\s;&|]+)")


def _keep(value: str) -> bool:
    """Values that hold no secret: empty, a reference to another variable, or already a marker."""
    return not value or value.strip("'\"") == "" or is_reference(value) or value.startswith("<redacted")


def _without_value(value: str) -> str:
    """A value replaced by REDACTED, or by the marker of the credential recognised in it, so the
    checks still learn that a credential was there (a password inside a URL) and of which kind."""
    if _keep(value):
        return value
    kinds = MARKER.findall(value)
    return marker(kinds[0]) if kinds else REDACTED


def _credentials(text: str) -> str:
    """Credentials recognised by their form, wherever they are in a history line."""
    text = TOKENS.sub(lambda m: marker(token_kind(m)), text)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: m.group(0) if _keep(m.group(2)) else f"{m.group(1)}:{marker('url-password')}@",
                                 text)
    if "uthorization" in text or "UTHORIZATION" in text:
        text = _AUTH_HEADER.sub(lambda m: m.group(0) if _keep(m.group(2)) else m.group(1) + marker("authorization-header"),
                                text)
    if "-u" in text:
        text = _USER_PASSWORD.sub(lambda m: m.group(0) if _keep(m.group(2)) else f"{m.group(1)}:{marker('password')}",
                                  text)
    return text


def _secret_values(command: str) -> str:
    """A command line without the values of secret-named variables and options (TOKEN=..., --password ...)."""
    if "=" in command:
        command = _SECRET_ASSIGNMENT.sub(
            lambda m: m.group(0) if _keep(m.group(2)) or not is_secret_name(m.group(1)) else f"{m.group(1)}={REDACTED}",
            command)
    if "--" in command:
        command = _SECRET_OPTION.sub(
            lambda m: m.group(0) if (_keep(m.group(3)) or m.group(3).startswith("-") or m.group(3) == REDACTED
                                     or not is_secret_name(m.group(1))) else f"{m.group(1)}{m.group(2)}{REDACTED}",
            command)
    if "mysql" in command or "mariadb" in command:
        command = _MYSQL_PASSWORD.sub(lambda m: m.group(0) if _keep(m.group(2)) else m.group(1) + REDACTED, command)
    return command


def _all_values(text: str) -> str:
    """ENV, ARG and LABEL text with every value replaced: `A=1 B=` -> `A=<redacted> B=`."""
    pairs = assignments(text)
    if not pairs:
        name, space, value = text.partition(" ")
        # ENV NAME value, the form before NAME=value
        return f"{name} {_without_value(value.strip())}" if space and value.strip() and not is_reference(value.strip()) else text
    out, last = [], 0
    for _, value, start, end in pairs:
        out.append(text[last:start])
        out.append(_without_value(value))
        last = end
    out.append(text[last:])
    return "".join(out)


@functools.lru_cache(maxsize=16384)
def redact_history_line(created_by: str) -> str:
    """A history line as the facts keep it: the instruction and its command stay (the checks read
    them), the values of variables, build arguments and labels go, and so does whatever looks like a
    credential (bench/secret_text.py). CMD, ENTRYPOINT and HEALTHCHECK lose their arguments, as a
    container's do. Images share most of their lines: each distinct one is redacted once."""
    if not created_by:
        return created_by
    text = _credentials(created_by)
    step = parse_step(text)
    if not step.text:
        return text
    start = text.rfind(step.text)
    if start < 0:       # not expected: the step's text is a slice of the line; keep nothing of it
        return f"{step.instruction} {REDACTED}".strip()
    head, body, tail = text[:start], step.text, text[start + len(step.text):]
    if step.instruction in ("ENV", "ARG", "LABEL"):
        body = _all_values(body)
    elif step.instruction in ("CMD", "ENTRYPOINT", "HEALTHCHECK"):
        body = body if '"NONE"' in body else REDACTED
    else:
        body = _secret_values(body)
    if step.build_args:
        count = re.search(r"\|\d+[ \t]", head)
        if count:
            values = " ".join(f"{name}={_without_value(value)}" for name, value in step.build_args)
            head = f"{head[:count.start()]}|{len(step.build_args)} {values} "
    return head + body + tail
