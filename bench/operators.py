"""The closed set of comparisons a YAML check may use.

Each operator validates its expected value when the check file is loaded (so a bad value is a load
error naming the file, check and field) and then compares actual values. Nothing here evaluates
text from a check file as code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from bench import versions


class OperandError(ValueError):
    """The expected value does not suit the operator."""


@dataclass(frozen=True)
class Operator:
    name: str
    takes_value: bool
    prepare: Callable[[Any], Any]            # validates and converts the expected value
    test: Callable[[Any, Any], bool]         # (actual, prepared expected) -> holds?
    describe: Callable[[Any], str]           # how the expectation reads in a report
    absent_holds: Optional[bool] = None      # verdict on an absent value, if the operator defines one


def _scalar(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise OperandError("expects a single value (string, number or boolean)")


def _scalar_list(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise OperandError("expects a non-empty list of values")
    return [_scalar(v) for v in value]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OperandError("expects a number")
    return value


def _regex(value: Any) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise OperandError("expects a regular expression string")
    try:
        return re.compile(value)
    except re.error as exc:
        raise OperandError(f"invalid regular expression: {exc}") from None


def _none(value: Any) -> None:
    if value is not None:
        raise OperandError("takes no value")
    return None


def parse_mode(value: Any) -> int:
    """'644', '0644' or '0o644'. A bare YAML number is refused: YAML reads 0644 as 420."""
    if not isinstance(value, str):
        raise OperandError("expects the mode as a quoted octal string such as '0644'")
    text = value.lower().removeprefix("0o")
    if not text or len(text) > 4 or any(c not in "01234567" for c in text):
        raise OperandError(f"{value!r} is not an octal mode such as '0644'")
    return int(text, 8)


def parse_owners(value: Any) -> list[tuple[str, str]]:
    """'root:root', or a list of them; either side may be '*'."""
    values = value if isinstance(value, list) else [value]
    owners = []
    for entry in values:
        if not isinstance(entry, str) or entry.count(":") != 1 or "" in entry.split(":"):
            raise OperandError("expects 'user:group' (or a list of them)")
        user, group = entry.split(":")
        owners.append((user, group))
    return owners


def parse_version(value: Any) -> tuple[int, ...]:
    try:
        return versions.parse_version(value)
    except versions.VersionError as exc:
        raise OperandError(str(exc)) from None


def _is_empty(actual: Any) -> bool:
    return actual is None or actual == "" or actual == [] or actual == {}


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, (list, tuple, dict)):
        return expected in actual
    if isinstance(actual, str):
        return str(expected) in actual
    return False


STICKY = 0o1000


def _mode_ok(actual: Any, limit: int) -> bool:
    # The sticky bit grants nothing: on a directory it only restricts who may delete entries, on
    # other files Linux ignores it (rootless dockerd sets it on its socket and files under
    # $XDG_RUNTIME_DIR so that the runtime-directory cleaner leaves them alone).
    return isinstance(actual, int) and actual & ~(limit | STICKY) == 0


def _owner_ok(actual: Any, owners: list[tuple[str, str]]) -> bool:
    """actual is (names the owner goes by, names the group goes by): a name and a numeric id."""
    users, groups = actual
    return any((u == "*" or u in users) and (g == "*" or g in groups) for u, g in owners)


def _as_text(actual: Any) -> str:
    if isinstance(actual, bool):
        return "true" if actual else "false"
    return str(actual)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        # True == 1 in Python; in a configuration they mean different things.
        same = isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
        return same or _loose_equal(actual, expected)
    return actual == expected or _loose_equal(actual, expected)


def _loose_equal(actual: Any, expected: Any) -> bool:
    """Engine data sometimes carries numbers and booleans as strings ("1024", "true")."""
    if isinstance(actual, str) and not isinstance(expected, str) and expected is not None:
        return actual == _as_text(expected)
    return False


OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Operator("equals", True, _scalar, _equal,
             lambda e: f"= {_as_text(e)}"),
    Operator("not_equals", True, _scalar, lambda a, e: not _equal(a, e),
             lambda e: f"!= {_as_text(e)}"),
    Operator("one_of", True, _scalar_list, lambda a, e: any(_equal(a, x) for x in e),
             lambda e: "one of " + ", ".join(_as_text(x) for x in e)),
    Operator("none_of", True, _scalar_list, lambda a, e: not any(_equal(a, x) for x in e),
             lambda e: "none of " + ", ".join(_as_text(x) for x in e)),
    Operator("contains", True, _scalar, _contains, lambda e: f"contains {_as_text(e)}"),
    Operator("not_contains", True, _scalar, lambda a, e: not _contains(a, e),
             lambda e: f"does not contain {_as_text(e)}", absent_holds=True),
    Operator("matches", True, _regex, lambda a, e: bool(e.search(_as_text(a))),
             lambda e: f"matches /{e.pattern}/"),
    Operator("not_matches", True, _regex, lambda a, e: not e.search(_as_text(a)),
             lambda e: f"does not match /{e.pattern}/", absent_holds=True),
    Operator("empty", False, _none, lambda a, e: _is_empty(a), lambda e: "empty or unset", absent_holds=True),
    Operator("not_empty", False, _none, lambda a, e: not _is_empty(a), lambda e: "set", absent_holds=False),
    Operator("at_least", True, _number, lambda a, e: _is_number(a) and a >= e, lambda e: f">= {e}"),
    Operator("at_most", True, _number, lambda a, e: _is_number(a) and a <= e, lambda e: f"<= {e}"),
    Operator("version_at_least", True, parse_version, versions.version_at_least,
             lambda e: ">= " + versions.show(e)),
    Operator("mode_at_most", True, parse_mode, _mode_ok, lambda e: f"{e:04o} or more restrictive"),
    Operator("owned_by", True, parse_owners, _owner_ok,
             lambda e: " or ".join(f"{u}:{g}" for u, g in e)),
)}

FILE_OPERATORS = ("mode_at_most", "owned_by")
AUDIT_OPERATORS = ("watched",)
# The audit target judges a file's audit coverage itself (bench/audit_coverage.py, called from
# yaml_checks/targets.py); this operator only names that judgement for check files.
OPERATORS["watched"] = Operator("watched", False, _none, lambda covered, _e: bool(covered),
                                lambda e: "recorded by a loaded audit rule")
