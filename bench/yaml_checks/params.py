"""Check settings: `--param CHECK.NAME=TEXT` and a profile's `params`, turned into what the check takes.

Both go through `param_value`, so a value the command line refuses a profile refuses too, and
both are refused before any facts are collected."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bench.yaml_checks.spec import YamlCheckSpec

if TYPE_CHECKING:
    from bench.check import Check

# Operators whose operand is text even when it looks like a number ("3.10", "0644", "root:root").
_TEXT_OPERANDS = ("version_at_least", "mode_at_most", "owned_by", "matches", "not_matches", "contains", "not_contains")


def prepare_override(spec: YamlCheckSpec, value: Any) -> Any:
    """An expected value given on the command line (text) in the form the operator wants;
    OperandError when it does not suit the operator."""
    if not isinstance(value, str):
        return spec.op.prepare(value)
    if spec.op.name in ("one_of", "none_of"):
        value = [_plain(v.strip()) for v in value.split(",")]
    elif spec.op.name not in _TEXT_OPERANDS:
        value = _plain(value)
    return spec.op.prepare(value)


def unknown_param(check: "Check", name: Any) -> str:
    """Why `name` is not a setting of the check, or "" when it is."""
    if name in check.params:
        return ""
    known = ", ".join(sorted(check.params)) or "none"
    return f"check {check.id} has no parameter {str(name)!r} (it has: {known})"


def param_value(check: "Check", name: str, value: Any) -> Any:
    """A setting (--param's text, or a profile's YAML value) in the form the check takes;
    ValueError, saying why, when the check can tell it does not fit."""
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)):
        raise ValueError("takes text, a number, true/false or a list of them, not a mapping")
    if check.prepare is not None and check.kind == "yaml":
        # A YAML check's operator reads YAML values itself (a list for one_of, a number).
        return check.prepare(name, value)
    text = _as_text(value)
    if check.prepare is not None:
        if isinstance(check.params.get(name), str) and isinstance(value, float):
            # YAML read `minimum: 28.10` as 28.1: the text written is lost before prepare sees it.
            raise ValueError(f"takes text: quote the value in the YAML file, not {value!r}")
        return check.prepare(name, text)
    return _like_default(check.params.get(name), text if isinstance(value, list) else value)


def _as_text(value: Any) -> Any:
    """A profile's value as --param would give it: prepare(name, text) is what a Python check
    is written for."""
    if isinstance(value, list):
        return ",".join(_as_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _like_default(default: Any, value: Any) -> Any:
    """Without a prepare the check takes text (what --param gives); the default's type is all it
    declares, so a value that cannot be read as that type is refused. The value is handed on as
    given: a check without prepare is written for --param's text."""
    if isinstance(default, bool):
        if isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in ("true", "false")):
            return value
        raise ValueError(f"takes true or false, not {value!r}")
    if isinstance(default, int):
        if _reads_as(value, int):
            return value
        raise ValueError(f"takes a whole number, not {value!r}")
    if isinstance(default, float):
        if _reads_as(value, float):
            return value
        raise ValueError(f"takes a number, not {value!r}")
    if isinstance(default, str) and not isinstance(value, str):
        # YAML reads `minimum: 28.10` as the number 28.1 and `yes` as true: not what was meant.
        raise ValueError(f"takes text: quote the value in the YAML file, not {value!r}")
    return value


def _reads_as(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return kind is float or isinstance(value, int)
    try:
        kind(str(value).strip())
    except ValueError:
        return False
    return True


def _plain(text: str) -> Any:
    """"5" -> 5, "true" -> True, anything else stays text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float, bool)) else text
