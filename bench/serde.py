"""Dataclasses to JSON-ready data and back, strictly typed on the way in.

Facts files come from other hosts and other versions of this tool, so loading validates every field
against the dataclass annotations and raises DataError (with the path of the offending field) on
anything else.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Union, get_args, get_origin, get_type_hints


class DataError(ValueError):
    """Data does not have the shape the dataclass describes."""


def to_data(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_data(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_data(v) for v in obj]
    return obj


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def from_data(cls: Any, data: Any, where: str = "$") -> Any:
    origin = get_origin(cls)
    if cls is Any:
        _check_json_value(data, where)
        return data
    if origin is Union:
        options = get_args(cls)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return from_data(option, data, where)
            except DataError as exc:
                errors.append(str(exc))
        raise DataError(errors[0] if len(errors) == 1 else f"{where}: no type of {cls} fits")
    if dataclasses.is_dataclass(cls):
        if not isinstance(data, dict):
            raise DataError(f"{where}: expected an object, got {_kind(data)}")
        hints = _hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        # Fields earlier versions wrote and this one no longer has: files they recorded stay readable.
        retired = getattr(cls, "RETIRED_FIELDS", frozenset())
        unknown = sorted(set(data) - names - retired)
        if unknown:
            raise DataError(f"{where}: unknown field {unknown[0]!r}")
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name in data:
                kwargs[f.name] = from_data(hints[f.name], data[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise DataError(f"{where}: missing field {f.name!r}")
        return cls(**kwargs)
    if origin in (list, tuple) or cls in (list, tuple):
        if not isinstance(data, list):
            raise DataError(f"{where}: expected a list, got {_kind(data)}")
        args = get_args(cls)
        item_type = args[0] if args else Any
        items = [from_data(item_type, v, f"{where}[{i}]") for i, v in enumerate(data)]
        return tuple(items) if (origin or cls) is tuple else items
    if origin is dict or cls is dict:
        if not isinstance(data, dict):
            raise DataError(f"{where}: expected an object, got {_kind(data)}")
        args = get_args(cls)
        value_type = args[1] if args else Any
        return {str(k): from_data(value_type, v, f"{where}.{k}") for k, v in data.items()}
    if cls is bool:
        if not isinstance(data, bool):
            raise DataError(f"{where}: expected true or false, got {_kind(data)}")
        return data
    if cls is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise DataError(f"{where}: expected an integer, got {_kind(data)}")
        return data
    if cls is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise DataError(f"{where}: expected a number, got {_kind(data)}")
        return float(data)
    if cls is str:
        if not isinstance(data, str):
            raise DataError(f"{where}: expected a string, got {_kind(data)}")
        return data
    raise DataError(f"{where}: cannot load type {cls}")  # a programming error in the model


def _check_json_value(data: Any, where: str) -> None:
    if data is None or isinstance(data, (str, bool, int, float)):
        return
    if isinstance(data, list):
        for i, v in enumerate(data):
            _check_json_value(v, f"{where}[{i}]")
        return
    if isinstance(data, dict):
        for k, v in data.items():
            if not isinstance(k, str):
                raise DataError(f"{where}: object keys must be strings")
            _check_json_value(v, f"{where}.{k}")
        return
    raise DataError(f"{where}: {_kind(data)} is not JSON data")


def _kind(data: Any) -> str:
    if data is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(data), type(data).__name__)

