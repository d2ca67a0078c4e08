"""Command line: `docker-cis-bench [audit|record|list|merge] ...`.

Exit status: 0 nothing reached the --fail-on threshold, 1 something did, 2 the user's input is wrong
(bad option, bad check file or profile, unreadable facts, baseline or fleet report): one line on
stderr, no traceback.
"""
from __future__ import annotations

import os
import sys
from typing import Optional, Sequence

from bench import TOOL_NAME
from bench.cli.parser import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, parse_args
from bench.errors import InputError

__all__ = ["main", "EXIT_OK", "EXIT_FINDINGS", "EXIT_USAGE"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    from bench.cli import audit, commands

    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        command = {"list": commands.list_, "record": commands.record, "merge": commands.merge}.get(
            args.command, audit.run)
        return command(args)
    except InputError as exc:
        from bench.sanitize import printable

        # One line, whatever a file name or a parser put in the message (newlines, escape sequences).
        print(f"{TOOL_NAME}: error: {printable(exc, limit=4000)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{TOOL_NAME}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`... | head`); nothing more to say to it.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK
    except Exception as exc:
        if os.environ.get("BENCH_DEBUG"):
            raise
        from bench.sanitize import printable

        # Checks and collectors are isolated already; this is a bug in the tool itself.
        print(f"{TOOL_NAME}: internal error: {type(exc).__name__}: {printable(exc, limit=1000)} "
              "(set BENCH_DEBUG=1 for a traceback, and please report it)", file=sys.stderr)
        return EXIT_USAGE
