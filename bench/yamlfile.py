"""YAML files the user writes (check files, profiles, waivers), read safely and with line numbers.

Every mapping remembers the line of each of its keys, so that a problem found later, when the data
is validated, can name the line it is on. Duplicate keys are refused rather than silently
overwritten. Nothing in a file is executed: this is PyYAML's safe loader.
"""
from __future__ import annotations

from typing import Any

import yaml

from bench.errors import FileInputError


class _LineMap(dict):
    """A YAML mapping that remembers the line of each key."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.key_lines: dict[Any, int] = {}


class _LineList(list):
    """A YAML sequence that remembers the line of each item (scalars have no line of their own)."""

    def __init__(self) -> None:
        super().__init__()
        self.item_lines: list[int] = []


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int):
        self.key, self.line = key, line


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _construct_mapping(loader: Any, node: Any) -> _LineMap:
    loader.flatten_mapping(node)
    result = _LineMap()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise _DuplicateKey(repr(key), key_node.start_mark.line + 1) from None
        if key in result:
            raise _DuplicateKey(key, key_node.start_mark.line + 1)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: Any, node: Any) -> _LineList:
    result = _LineList()
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.item_lines.append(item.start_mark.line + 1)
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse_yaml(text: str, path: str, error: type[FileInputError] = FileInputError) -> Any:
    """YAML text as data whose mappings know their lines; `error` (a FileInputError) names path and line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader with line tracking
    except _DuplicateKey as dup:
        raise error(path, f"key {dup.key!r} appears twice", line=dup.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise error(path, f"YAML syntax error: {exc.problem or exc}", line=line) from None
    except yaml.YAMLError as exc:
        # A ReaderError (a character YAML does not allow) has a position, not a mark; its text runs
        # over several lines, and the error must be one.
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise error(path, f"YAML error: {message}", line=line) from None
    except RecursionError:
        raise error(path, "YAML nested too deeply") from None
