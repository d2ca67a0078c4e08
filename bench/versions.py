"""Version numbers as Docker and the kernel print them ("20.10.24+dfsg1", "6.1.0-27-amd64", "v1.11"),
compared as numbers, part by part: 3.10 is newer than 3.2."""
from __future__ import annotations

import re
from typing import Any

_LEADING = re.compile(r"v?(\d+(?:\.\d+)*)")


class VersionError(ValueError):
    """Text that does not start with a version number."""


def parse_version(value: Any) -> tuple[int, ...]:
    match = _LEADING.match(str(value).strip())
    if not match:
        raise VersionError(f"{value!r} is not a version such as '3.10'")
    return tuple(int(p) for p in match.group(1).split("."))


def at_least(have: tuple[int, ...], minimum: tuple[int, ...]) -> bool:
    """have >= minimum, a missing part counting as 0 (3.10 == 3.10.0)."""
    width = max(len(have), len(minimum))
    return have + (0,) * (width - len(have)) >= minimum + (0,) * (width - len(minimum))


def version_at_least(actual: Any, minimum: tuple[int, ...]) -> bool:
    """Whether a reported version is at least `minimum`; a version that cannot be read is not."""
    try:
        return at_least(parse_version(actual), minimum)
    except VersionError:
        return False


def show(version: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in version)
