"""Several reports from one audit: `--output FORMAT:FILE`, repeatable.

`-o json:report.json -o html:report.html` writes both from the same collection and evaluation.
A spec without a known format before its first colon is a file in `--format`'s format (so
`-o report.xml` and `-o ./2026-11-27T03:00.json` mean what they always did); `-` is standard
output. Everything is rendered, and every destination checked, before anything is written; each
file is written atomically.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, TextIO

from bench.errors import InputError
from bench.output import check_writable, write_atomically


class OutputError(InputError):
    """An output that cannot be had: the user's to fix (exit 2), one line."""


class OutputSpecError(OutputError):
    """An --output spec that cannot be used."""


@dataclass(frozen=True)
class Output:
    format: str
    path: Optional[str]   # None: standard output

    def describe(self) -> str:
        return f"{self.format}:{self.path or '-'}"


def parse_outputs(specs: Optional[Sequence[str]], default_format: str, formats: Sequence[str],
                  known: Sequence[str] = ()) -> list[Output]:
    """`formats`: those this command writes; `known`: every format's name, so that one this command
    does not write (`merge -o sarif:x`) is refused rather than taken for part of a file name."""
    if not specs:
        return [Output(default_format, None)]
    outputs: list[Output] = []
    for spec in specs:
        head, colon, tail = spec.partition(":")
        if colon and head in known and head not in formats:
            raise OutputSpecError(f"--output {spec}: this command does not write {head} (it writes "
                                  f"{', '.join(formats)})")
        fmt, path = (head, tail) if colon and head in formats else (default_format, spec)
        if not path:
            raise OutputSpecError(f"--output {spec}: no file name after '{head}:' (use '{head}:-' for standard output)")
        outputs.append(Output(fmt, None if path == "-" else path))
    seen: dict[str, Output] = {}
    for output in outputs:
        # The file itself is replaced, never followed (bench/output.py): its directory is what resolves.
        key = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(output.path))),
                           os.path.basename(output.path)) if output.path else "-"
        if key in seen:
            raise OutputSpecError(f"--output {output.describe()} and --output {seen[key].describe()} name the same "
                                  "destination")
        seen[key] = output
    return outputs


class OutputWriteError(OutputError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")


def write_outputs(rendered: Sequence[tuple[Output, str]], mode: int = 0o644, stdout: Optional[TextIO] = None) -> None:
    """Write each rendered report to its destination, files atomically; none of them if any
    destination cannot be written, as far as that can be told beforehand."""
    # A refused set must leave what was there before: an older report.json is not half of a new set.
    for output, _ in rendered:
        if output.path is not None:
            try:
                check_writable(output.path)
            except OSError as exc:
                raise OutputWriteError(output.path, exc.strerror or str(exc)) from None
    for output, text in rendered:
        if output.path is None:
            stream = stdout or sys.stdout
            stream.write(text)
            stream.flush()
            continue
        try:
            write_atomically(output.path, text, mode)
        except OSError as exc:
            raise OutputWriteError(output.path, exc.strerror or str(exc)) from None


def render_outputs(outputs: Sequence[Output], render: Callable[[Output], str]) -> list[tuple[Output, str]]:
    """Every report rendered first: a failure leaves no file half-way through a set."""
    return [(output, render(output)) for output in outputs]
