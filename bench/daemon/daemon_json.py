"""daemon.json, read as dockerd reads it (moby daemon/config/config.go getConflictFreeConfiguration).

dockerd decodes the file twice. First into a map, whose objects it flattens one level (an object
under a key that is not a "flat" option counts its members as top-level keys), to refuse keys that
match no flag and keys also given as flags; bool flags named by a key are set from the file's value
there, which is how `false` survives the merge. Then into its Config struct, which refuses values of
the wrong JSON type and ignores keys that name a flag but no field. This module reproduces both
passes on the text recorded in the facts.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from bench.daemon.flags import engine_version_tuple
from bench.daemon.go_values import GO_TRUE
from bench.daemon.options import (ACCEPTED_WITHOUT_FLAG, FLAT_KEYS, IGNORED_KEYS, MFLAG, OPTIONS, PFLAG,
                                  ConfigError, Option, Setting, flag_named_keys, json_keys)

# Engine 23.0 switched to json.Unmarshal after dropping a byte order mark and accepting an empty
# file; before it a json.Decoder read the first JSON value and ignored what followed.
UNMARSHAL_SINCE = (23, 0)
# Every option name dockerd ever had: lowercase words joined by dashes.
_OPTION_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
# Members of the "proxies" object, decoded into dockerd's Proxies struct (Engine 23.0 and later).
_PROXY_KEYS = ("http-proxy", "https-proxy", "no-proxy")
# Bool flags bound to dockerd's command-line options rather than to its Config (daemonOptions in
# daemon/command/options.go; commonFlags in v1.11.2): setting them from the file changes nothing,
# since their values were copied into the Config before the file is read (verified on 20.10 for
# debug). The other bool flags write into the Config the file's values are merged with.
_OPTIONS_BOUND = ("debug", "tls", "tlsverify")


@dataclass
class DaemonJson:
    settings: dict[str, Setting] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Every key dockerd counts as set in the file (flattened, nulls included): what it compares
    # with the flags for conflicts, and what its IsValueSet answers ("tlsverify" turns TLS on).
    keys: frozenset[str] = frozenset()


class _Object(dict):
    """A JSON object that remembers keys given more than once."""
    duplicates: dict[str, list[Any]]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    obj.duplicates = {}
    for key, value in pairs:
        if key in obj:
            obj.duplicates.setdefault(key, [obj[key]]).append(value)
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_daemon_json(text: str, path: str, generation: str = PFLAG, engine_version: Any = None) -> DaemonJson:
    """The settings dockerd reads from this daemon.json text, with notes on what it accepts but does
    not use and on keys this auditor does not know. ConfigError (naming the file and the key) only
    where dockerd refuses the file."""
    result = DaemonJson()
    era = _decoder_era(generation, engine_version)
    data = _decode(text, path, era, result.notes)
    if data is None:
        return result
    flat, origin = _flatten(data)
    result.keys = frozenset(flat)
    _check_keys(flat, origin, path, generation, result.notes)
    source = f"daemon.json {path}"
    readable = json_keys(generation)
    named = flag_named_keys(generation)
    for key, value in data.items():
        if isinstance(value, dict) and key not in FLAT_KEYS:
            _read_nested(key, value, path, source, generation, readable, named, result)
        elif key in readable:
            _read_value(readable[key], key, value, data, path, source, result)
        elif key in named:
            _read_flag_named(key, named[key], value, path, source, generation, result)
        elif key in IGNORED_KEYS:
            result.notes.append(f"{path}: {key!r} is accepted and ignored by dockerd")
    if "graph" in result.settings and "data-root" in result.settings:
        # moby v20.10 daemon/config/config.go; from 23.0 "graph" is refused outright.
        raise ConfigError(f"{path}: 'graph' and 'data-root' are both set: dockerd refuses that")
    for key, values in getattr(data, "duplicates", {}).items():
        result.notes.append(f"{path}: {key!r} is given {len(values)} times; dockerd reads "
                            + ("the objects merged" if all(isinstance(v, dict) for v in values) else "the last"))
    return result


def _decoder_era(generation: str, engine_version: Any) -> Optional[str]:
    if generation == MFLAG:
        return "decoder"
    version = engine_version_tuple(engine_version)
    if version is None:
        return None
    return "unmarshal" if version[:2] >= UNMARSHAL_SINCE else "decoder"


def _decode(text: str, path: str, era: Optional[str], notes: list[str]) -> Optional[_Object]:
    unknown_era = " (dockerd before 23.0 refuses it)"
    if text.startswith("\ufeff"):
        if era == "decoder":
            raise ConfigError(f"{path}: invalid JSON (a byte order mark, which dockerd before 23.0 refuses)")
        notes.append(f"{path}: starts with a byte order mark, which dockerd 23.0 and later skip"
                     + (unknown_era if era is None else ""))
        text = text[1:]
    body = text.strip(" \t\r\n")
    if not body:
        if era == "decoder":
            raise ConfigError(f"{path}: the file is empty, which dockerd before 23.0 refuses (EOF)")
        notes.append(f"{path}: the file is empty; dockerd 23.0 and later run on their defaults"
                     + (unknown_era if era is None else ""))
        return None
    decoder = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_reject_constant)
    try:
        data, end = decoder.raw_decode(body)
    except (ValueError, RecursionError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ConfigError(f"{path}: invalid JSON ({problem})") from None
    if body[end:].strip(" \t\r\n"):
        if era == "unmarshal":
            raise ConfigError(f"{path}: invalid JSON (text after the object at offset {end})")
        notes.append(f"{path}: text after the JSON object is ignored by dockerd before 23.0"
                     + ("" if era == "decoder" else " (dockerd 23.0 and later refuse the file)"))
    if data is None:
        # json.Unmarshal of null into a map or a struct sets nothing.
        notes.append(f"{path}: the file holds null; dockerd runs on its defaults")
        return None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a JSON object")
    return data


def _flatten(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """configValuesSet: the keys dockerd counts as set, and for each lifted one the key it was under."""
    flat: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key not in FLAT_KEYS:
            for inner, inner_value in value.items():
                flat[inner] = inner_value
                origin[inner] = key
        else:
            flat[key] = value
            origin.pop(key, None)
    return flat, origin


def _check_keys(flat: dict[str, Any], origin: dict[str, str], path: str, generation: str, notes: list[str]) -> None:
    """findConfigurationConflicts, step 1: every key must name a flag or a named option."""
    known = set(json_keys(generation)) | set(flag_named_keys(generation))
    if generation == PFLAG:
        known |= ACCEPTED_WITHOUT_FLAG
    known.discard("proxies")  # a wrapper object, never a key of its own
    for key in flat:
        if key in known:
            continue
        where = f" (inside {origin[key]!r})" if key in origin else ""
        if generation == MFLAG:
            raise ConfigError(f"{path}: unknown key {key!r}{where}: Engine 1.12 and earlier have no such "
                              "daemon.json option, and refuse a file with one")
        if not _OPTION_NAME.fullmatch(key):
            hint = f"; dockerd's name is {key.lower()!r}" if key.lower() in known else ""
            raise ConfigError(f"{path}: unknown key {key!r}{where}: dockerd refuses keys that match none of "
                              f"its options (it compares them case-sensitively){hint}")
        notes.append(f"{path}: unknown key {key!r}{where}: not an option this auditor knows; dockerd refuses "
                     "keys it does not know, so the running dockerd is newer and knows it, or did not start "
                     "with this file")


def _read_value(option: Option, key: str, value: Any, data: dict[str, Any], path: str, source: str,
                result: DaemonJson) -> None:
    if value is None:
        if option.kind == "bool" and key not in _OPTIONS_BOUND:
            # The bool flag is set from fmt.Sprint(nil), "<nil>": pflag's and mflag's boolValue.Set
            # store false before returning the error, which dockerd ignores, and the merge keeps
            # that false (verified on 20.10 with icc).
            result.settings[key] = Setting(key, False, source, written=None)
            result.notes.append(f"{path}: {key!r} is null, which dockerd reads as false")
        else:
            result.notes.append(f"{path}: {key!r} is null; dockerd uses its default")
        return
    duplicates = getattr(data, "duplicates", {}).get(key)
    if duplicates and all(isinstance(v, dict) for v in duplicates):
        # encoding/json decodes a repeated object into the same Go map: the members add up.
        merged: dict[str, Any] = {}
        for each in duplicates:
            merged.update(each)
        value = merged
    read = _typed(option, key, value, path)
    if _is_zero(read):
        # mergo fills a field the file left at its zero value from the flag defaults.
        result.notes.append(f"{path}: {key!r} is empty; dockerd uses its default")
        return
    result.settings[key] = Setting(key, read, source)


def _read_nested(key: str, members: dict[str, Any], path: str, source: str, generation: str,
                 readable: dict[str, Option], named: dict[str, str], result: DaemonJson) -> None:
    folded = key.lower()
    if generation == PFLAG and folded == "proxies":
        # The Proxies struct (json:"proxies"; encoding/json matches field names case-insensitively).
        for inner, value in members.items():
            if inner in _PROXY_KEYS:
                _read_value(OPTIONS[inner], inner, value, members, path, f"{source} (in {key!r})", result)
        return
    target = readable.get(folded)
    if target is not None and target.kind in ("bool", "string", "int", "list"):
        raise ConfigError(f"{path}: {key!r} must be {_KIND_WORDS[target.kind]}, not an object")
    for inner, value in members.items():
        option = readable.get(inner) or (OPTIONS.get(named[inner]) if inner in named else None)
        if option is not None and option.kind == "bool" and inner not in _OPTIONS_BOUND:
            # Only the bool flag named by the key is set (from fmt.Sprint of the value), and the merge
            # keeps it; the struct has no field under key, so nothing else of this object is read.
            result.settings[option.key] = Setting(option.key, _sprint_bool(value), f"{source} (in {key!r})",
                                                  written=value)
            result.notes.append(f"{path}: {inner!r} inside {key!r} is read through its flag, as "
                                f"{'true' if result.settings[option.key].value else 'false'}")
        elif option is not None:
            result.notes.append(f"{path}: {inner!r} inside {key!r} is accepted and ignored by dockerd")
    if target is None and not members:
        result.notes.append(f"{path}: {key!r} (an empty object) is accepted and ignored by dockerd")


def _read_flag_named(key: str, target: str, value: Any, path: str, source: str, generation: str,
                     result: DaemonJson) -> None:
    option = OPTIONS.get(target)
    if option is not None and option.kind == "bool":
        # No struct field, but the bool flag of that name is set from the value and survives the merge.
        result.settings[option.key] = Setting(option.key, _sprint_bool(value), source, written=value)
        return
    better = f"; the daemon.json key is {option.key!r}" if option is not None and option.in_json(generation) else ""
    result.notes.append(f"{path}: {key!r} is a flag's name, which dockerd accepts and ignores{better}")


def _sprint_bool(value: Any) -> bool:
    """strconv.ParseBool(fmt.Sprint(value)), false where that fails (boolValue.Set stores false)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value == 1  # "1" parses as true; "0", "-0" and any other number end up false
    return isinstance(value, str) and value in GO_TRUE


_KIND_WORDS = {"bool": "true or false", "string": "a string", "int": "an integer", "list": "a list of strings",
               "map": "an object of strings", "ulimits": 'an object of {"Name", "Soft", "Hard"} limits'}
_INT_RANGE = (-(2 ** 63), 2 ** 63)


def _typed(option: Option, key: str, value: Any, path: str) -> Any:
    """The value as dockerd's Config struct decodes it; ConfigError where encoding/json refuses."""
    kind = option.kind

    def refuse() -> ConfigError:
        return ConfigError(f"{path}: {key!r} must be {_KIND_WORDS[kind]}, not {json.dumps(value)[:60]}")

    if kind == "bool":
        if not isinstance(value, bool):
            raise refuse()
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise refuse()
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not _INT_RANGE[0] <= value < _INT_RANGE[1]:
            raise refuse()
        return value
    if kind == "list":
        if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
            raise refuse()
        return ["" if v is None else v for v in value]
    if kind == "map":
        if not isinstance(value, dict) or not all(v is None or isinstance(v, str) for v in value.values()):
            raise refuse()
        return {k: "" if v is None else v for k, v in value.items()}
    if kind == "ulimits":
        if not isinstance(value, dict):
            raise refuse()
        return {name: _ulimit(limit, refuse) for name, limit in value.items() if limit is not None}
    return value


def _ulimit(value: Any, refuse: Any) -> dict[str, Any]:
    """A go-units Ulimit: fields Name, Hard, Soft with no JSON tags, so encoding/json matches them
    case-insensitively ("name", "SOFT") and ignores other members; a missing one stays zero."""
    if not isinstance(value, dict):
        raise refuse()
    limit: dict[str, Any] = {"Name": "", "Soft": 0, "Hard": 0}
    for member, item in value.items():
        field_name = {"name": "Name", "soft": "Soft", "hard": "Hard"}.get(member.lower())
        if field_name is None or item is None:
            continue
        if field_name == "Name":
            if not isinstance(item, str):
                raise refuse()
        elif isinstance(item, bool) or not isinstance(item, int) or not _INT_RANGE[0] <= item < _INT_RANGE[1]:
            raise refuse()
        limit[field_name] = item
    return limit


def _is_zero(value: Any) -> bool:
    return value is not False and value in ("", 0, [], {})
