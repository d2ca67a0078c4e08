"""dockerd's command line, read as dockerd's flag parser (Go's pflag) reads it."""
from __future__ import annotations

from typing import Any, Optional

from bench.daemon.options import CONTROL_FLAGS, FLAG_TO_KEY, OPTION_KINDS, ConfigError, Setting

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def strip_daemon_command(argv: list[str]) -> list[str]:
    """The daemon's own options: drop `dockerd`, or `docker daemon` / `docker -d` (Engine <= 1.11)."""
    if not argv:
        return []
    rest = list(argv[1:])
    program = argv[0].rsplit("/", 1)[-1]
    if program == "docker" and rest and rest[0] in ("daemon", "-d", "--daemon"):
        rest = rest[1:]
    return rest


def parse_flags(argv: list[str]) -> tuple[dict[str, Setting], dict[str, str], list[str]]:
    """Parse the daemon's argv as Go's pflag would.

    Returns (settings by daemon.json key, control flags such as --config-file, notes).
    Raises ConfigError when a known flag has an unusable value.
    """
    args = strip_daemon_command(argv)
    settings: dict[str, Setting] = {}
    control: dict[str, str] = {}
    notes: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            notes.append(f"ignored argument {arg!r}")
            continue
        name, has_value, inline = _split_flag(arg)
        key = FLAG_TO_KEY.get(name)
        kind = OPTION_KINDS.get(key) if key else CONTROL_FLAGS.get(name)
        if kind is None:
            notes.append(f"unrecognised flag {name}")
            continue
        if kind == "bool":
            if has_value:
                if inline in _TRUE:
                    value: Any = True
                elif inline in _FALSE:
                    value = False
                else:
                    raise ConfigError(f"flag {name} takes true or false, not {inline!r}")
            else:
                value = True
            text = arg
        else:
            if not has_value:
                if i >= len(args):
                    raise ConfigError(f"flag {name} needs a value")
                inline = args[i]
                i += 1
                text = f"{arg} {inline}"
            else:
                text = arg
            value = inline
        if key is None:
            control[name] = value
            continue
        source = f"flag {text}"
        settings[key] = _add_flag_value(settings.get(key), key, kind, value, source, name)
    return settings, control, notes


def _split_flag(arg: str) -> tuple[str, bool, str]:
    if arg.startswith("--"):
        name, eq, value = arg.partition("=")
        return name, bool(eq), value
    # Short flags: -l info, -l=info, -linfo; -D (bool).
    name, rest = arg[:2], arg[2:]
    if rest.startswith("="):
        return name, True, rest[1:]
    if rest:
        return name, True, rest
    return name, False, ""


def _add_flag_value(previous: Optional[Setting], key: str, kind: str, value: Any, source: str,
                    name: str) -> Setting:
    if kind in ("bool", "string", "any"):
        return Setting(key, value, source)
    if kind == "int":
        try:
            return Setting(key, int(value), source)
        except ValueError:
            raise ConfigError(f"flag {name} takes an integer, not {value!r}") from None
    if kind == "list":
        items = list(previous.value) if previous else []
        items.append(value)
        return Setting(key, items, _join_sources(previous, source))
    if kind == "map":
        mapping = dict(previous.value) if previous else {}
        k, eq, v = value.partition("=")
        if not eq:
            raise ConfigError(f"flag {name} takes key=value, not {value!r}")
        mapping[k] = v
        return Setting(key, mapping, _join_sources(previous, source))
    if kind == "ulimits":
        limits = dict(previous.value) if previous else {}
        limit = parse_ulimit(value, name)
        limits[limit["Name"]] = limit
        return Setting(key, limits, _join_sources(previous, source))
    raise AssertionError(kind)


def _join_sources(previous: Optional[Setting], source: str) -> str:
    if previous is None:
        return source
    return previous.source + ", " + source.removeprefix("flag ")


def parse_ulimit(text: str, name: str = "--default-ulimit") -> dict[str, Any]:
    limit_name, eq, limits = text.partition("=")
    soft_text, _, hard_text = limits.partition(":")
    try:
        soft = int(soft_text)
        hard = int(hard_text) if hard_text else soft
    except ValueError:
        raise ConfigError(f"flag {name} takes name=soft[:hard], not {text!r}") from None
    if not eq or not limit_name:
        raise ConfigError(f"flag {name} takes name=soft[:hard], not {text!r}")
    return {"Name": limit_name, "Soft": soft, "Hard": hard}
