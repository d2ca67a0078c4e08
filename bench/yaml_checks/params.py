"""`--param CHECK.value=TEXT` for a YAML check: the text turned into what the check's operator takes."""
from __future__ import annotations

import json
from typing import Any

from bench.yaml_checks.spec import YamlCheckSpec

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


def _plain(text: str) -> Any:
    """"5" -> 5, "true" -> True, anything else stays text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float, bool)) else text
