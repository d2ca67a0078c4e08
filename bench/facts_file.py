"""The facts file: Facts written as JSON by `record`, read back by `audit --facts`.

Files recorded by earlier releases (lower schema versions) stay readable: what they lack reads as
"not in this recording". A file that cannot be used is refused with a FactsError naming it.
"""
from __future__ import annotations

import json
import re
from typing import Any

from bench.errors import InputError
from bench.facts import SCHEMA_VERSION, Facts
from bench.serde import DataError, from_data, to_data


class FactsError(InputError):
    """A facts file cannot be used: unreadable, not JSON, wrong shape or unknown schema version."""

    def __init__(self, message: str, source: str = ""):
        super().__init__(f"{source}: {message}" if source else message)


def facts_to_json(facts: Facts) -> str:
    text = json.dumps(to_data(facts), indent=1, sort_keys=False, ensure_ascii=False) + "\n"
    if text.isascii():
        return text
    # Bytes from the host that are not UTF-8 (a file name, a daemon's argv) arrive as lone
    # surrogates, which UTF-8 cannot encode: write those as JSON escapes, which load back the same.
    return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)


def facts_from_data(data: Any, source: str = "") -> Facts:
    """Facts from decoded JSON; `source` ("facts file F") heads the message of a FactsError."""
    if not isinstance(data, dict):
        raise FactsError("a facts file holds a JSON object at the top level", source)
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise FactsError("not a facts file: no integer schema_version", source)
    if version > SCHEMA_VERSION:
        raise FactsError(f"facts schema version {version} is newer than this auditor reads "
                         f"({SCHEMA_VERSION}); upgrade docker-cis-bench", source)
    if version < 1:
        raise FactsError(f"facts schema version {version} is not supported", source)
    try:
        return from_data(Facts, data)
    except DataError as exc:
        raise FactsError(f"facts do not fit schema version {version}: {exc}", source) from None
    except RecursionError:
        raise FactsError("facts are nested too deeply", source) from None


def facts_from_json(text: str, source: str = "") -> Facts:
    try:
        data = json.loads(text)
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError on bytes
        raise FactsError(f"not valid JSON ({exc})", source) from None
    except RecursionError:
        raise FactsError("JSON nested too deeply", source) from None
    return facts_from_data(data, source)


MAX_FACTS_FILE = 512 * 1024 * 1024


def read_facts_file(path: str) -> Facts:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FACTS_FILE)
    except OSError as exc:
        raise FactsError(f"cannot read facts file {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FactsError("not UTF-8 text", f"facts file {path}") from None
    return facts_from_json(text, f"facts file {path}")
