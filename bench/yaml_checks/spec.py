"""What a YAML check says, once its file has been read and validated."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from bench.errors import FileInputError
from bench.operators import Operator
from bench.status import Status


class CheckFileError(FileInputError):
    """A check file cannot be used. The message names file, line, check and field."""

    entry_kind = "check"

    def __init__(self, path: str, message: str, line: Optional[int] = None, check: Optional[str] = None,
                 field: Optional[str] = None):
        super().__init__(path, message, line=line, entry=check, field=field)
        self.check = check


@dataclass(frozen=True)
class YamlCheckSpec:
    id: str
    title: str
    target: str
    op: Operator
    expected: Any
    field: Optional[str]
    files: tuple[str, ...]
    has_default: bool
    default: Any
    when_absent: Optional[Status]
    when_missing: Status
    on_fail: Status
    source: str
    description: str = ""
    rationale: str = ""
    references: tuple[str, ...] = ()
    when_rootless: Optional[Status] = None
