"""Values as Go's strconv and docker's go-units parse them, for dockerd's flags and daemon.json.

dockerd reads `--icc=T` as true and `--default-shm-size`-style integers with a base prefix; a value
these functions refuse is one dockerd refuses too, so the daemon could not have started with it.
"""
from __future__ import annotations

import re
from typing import Any

from bench.daemon.options import ConfigError

# strconv.ParseBool, which both pflag's and mflag's bool flags call.
GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def go_parse_bool(text: str, name: str = "flag") -> bool:
    if text in GO_TRUE:
        return True
    if text in GO_FALSE:
        return False
    raise ConfigError(f"invalid argument {text!r} for {name}: it takes true or false "
                      "(or 1, t, T, TRUE, True, 0, f, F, FALSE, False)")


_GO_INT = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)")


def go_parse_int(text: str) -> int:
    """strconv.ParseInt(text, 0, 64), as pflag's and mflag's int flags read their value: base from
    the prefix (0x, 0o, 0b, or a bare 0 for octal), underscores only between digits."""
    if not _GO_INT.fullmatch(text):
        raise ValueError(text)
    sign = -1 if text[0] == "-" else 1
    body = text.lstrip("+-")
    if body[:2].lower() in ("0x", "0o", "0b"):
        base, digits, prefixed = {"x": 16, "o": 8, "b": 2}[body[1].lower()], body[2:], True
    elif len(body) > 1 and body[0] == "0":
        base, digits, prefixed = 8, body[1:], True
    else:
        base, digits, prefixed = 10, body, False
    if "__" in digits or digits.endswith("_") or (digits.startswith("_") and not prefixed) or not digits.strip("_"):
        raise ValueError(text)
    value = sign * int(digits.replace("_", ""), base)
    if not -(2 ** 63) <= value < 2 ** 63:
        raise ValueError(text)
    return value


# go-units ParseUlimit (vendor/github.com/docker/go-units/ulimit.go).
ULIMIT_NAMES = frozenset({"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
                          "rss", "rtprio", "rttime", "sigpending", "stack"})


def parse_ulimit(text: str, name: str = "--default-ulimit") -> dict[str, Any]:
    limit_name, eq, limits = text.partition("=")
    if not eq:
        raise ConfigError(f"invalid ulimit argument for {name}: {text!r} (name=soft[:hard])")
    if limit_name not in ULIMIT_NAMES:
        raise ConfigError(f"invalid ulimit type for {name}: {limit_name!r}")
    parts = limits.split(":")
    if len(parts) > 2:
        raise ConfigError(f"too many limit values for {name}: {limits!r} (soft[:hard])")
    try:
        soft = _go_decimal(parts[0])
        hard = _go_decimal(parts[1]) if len(parts) == 2 else soft
    except ValueError:
        raise ConfigError(f"invalid ulimit value for {name}: {text!r} (name=soft[:hard])") from None
    if hard != -1 and (soft == -1 or soft > hard):
        raise ConfigError(f"ulimit soft limit must be less than or equal to hard limit for {name}: {text!r}")
    return {"Name": limit_name, "Soft": soft, "Hard": hard}


def _go_decimal(text: str) -> int:
    # strconv.ParseInt(text, 10, 64): digits with an optional sign, nothing else.
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(text)
    value = int(text)
    if not -(2 ** 63) <= value < 2 ** 63:
        raise ValueError(text)
    return value
