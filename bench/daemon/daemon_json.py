"""daemon.json, read as dockerd reads it: every key a known option, each value of its kind."""
from __future__ import annotations

import json
from typing import Any

from bench.daemon.options import OPTION_KINDS, ConfigError, Setting

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
