"""The one kind of error that is the user's to fix: what they gave the auditor is wrong.

An option, a check file, a profile, a facts file, a baseline or fleet report: each problem is one
line naming what is wrong and where, and exit status 2. `main` catches InputError once; nothing
re-wraps one into another. Problems on the audited host (a malformed daemon.json, say) are not
InputErrors: they become ERROR results, because the audit can still report everything else.
"""
from __future__ import annotations

from typing import Optional


class InputError(Exception):
    """The user's input is wrong. The message is the whole story, on one line."""


class FileInputError(InputError):
    """A file the user gave is wrong somewhere: the message names the file, the line, the entry
    (a check, a recommendation, a waiver) and the field."""

    entry_kind = "entry"

    def __init__(self, path: Optional[str], message: str, line: Optional[int] = None, entry: Optional[str] = None,
                 field: Optional[str] = None):
        self.path, self.line, self.entry, self.field = path, line, entry, field
        parts = [] if not path else [path if line is None else f"{path}:{line}"]
        if entry:
            parts.append(f"{self.entry_kind} {entry!r}")
        if field:
            parts.append(f"field {field!r}")
        super().__init__(", ".join(parts + [message]) if not parts else ", ".join(parts) + ": " + message)
