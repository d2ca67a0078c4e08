"""The command line's words: subcommands and options."""
from __future__ import annotations

import argparse
from typing import Any, Callable, Optional, Sequence

from bench import TOOL_NAME, __version__
from bench.errors import InputError
from bench.reporters import FLEET_FORMATS, FORMATS
from bench.status import Status

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
SUBCOMMANDS = ("audit", "record", "list", "merge")
FAIL_ON = {
    "fail": (Status.FAIL, Status.ERROR),
    "warn": (Status.FAIL, Status.ERROR, Status.WARN),
    "new": (),      # only findings that are not in the --baseline report
    "never": (),
}


class UsageError(InputError):
    """A bad option or combination of options."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


# Seconds an Engine API request may take.
DEFAULT_TIMEOUT = 10.0

def split_list(values: Optional[list[str]]) -> list[str]:
    """Repeatable, comma-separated option values as one list."""
    out: list[str] = []
    for value in values or []:
        out += [v.strip() for v in value.split(",") if v.strip()]
    return out


def _positive_of(kind: type, what: str) -> Callable[[str], Any]:
    """An argparse type: a number of `kind` greater than 0."""
    def read(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError("must be greater than 0")
        return value
    return read


_positive = _positive_of(float, "a number")
_positive_int = _positive_of(int, "a whole number")


def _add_collection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", help="audit all containers, not only running ones")
    p.add_argument("--include", action="append", metavar="GLOB",
                   help="only containers whose name matches (repeatable, comma-separated)")
    p.add_argument("--exclude", action="append", metavar="GLOB",
                   help="leave out containers whose name matches (repeatable, comma-separated)")
    p.add_argument("--host", "-H", dest="docker_host", metavar="URL",
                   help="Docker API endpoint: unix://, tcp://, ssh://[user@]host[:port] (default: $DOCKER_HOST, "
                        "else unix:///var/run/docker.sock, else a rootless daemon's $XDG_RUNTIME_DIR/docker.sock)")
    p.add_argument("--timeout", type=_positive, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="timeout for each Docker API call (default: 10)")
    p.add_argument("--checks-dir", action="append", default=[], metavar="DIR",
                   help="also load the YAML checks in DIR (repeatable)")
    p.add_argument("--root", default="/", metavar="PATH",
                   help="read host files and /proc from a host root mounted at PATH (auditing from a container)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=TOOL_NAME, description="Audit a Docker host against the CIS Docker Benchmark.")
    parser.add_argument("--version", action="version", version=f"{TOOL_NAME} {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    audit = sub.add_parser("audit", help="audit this host (the default command)")
    _add_collection_options(audit)
    audit.add_argument("--output", "-o", action="append", metavar="[FORMAT:]FILE",
                       help="write the report to FILE (atomically) instead of stdout; repeatable, each with a format "
                            "of its own: -o json:report.json -o html:report.html (FILE - is stdout)")
    audit.add_argument("--profile", default=None, metavar="ID|FILE|auto",
                       help="benchmark edition (default: cis-docker-1.11.0; auto: the edition written for the "
                            "engine audited; `list --profiles` lists them)")
    audit.add_argument("--check", action="append", metavar="ID", help="only these CIS ids, sections or check ids")
    audit.add_argument("--skip", action="append", metavar="ID", help="leave out these CIS ids, sections or check ids")
    audit.add_argument("--level", type=int, choices=(1, 2), help="1: level 1 only; 2: levels 1 and 2 (default: all)")
    audit.add_argument("--format", "-f", choices=FORMATS, default="text",
                       help="report format (default text; also the format of an --output without FORMAT:)")
    audit.add_argument("--fail-on", choices=tuple(FAIL_ON), default="fail",
                       help="exit 1 when a result is at least this bad (default: fail; ERROR counts as fail); "
                            "new: only on findings not in the --baseline report")
    audit.add_argument("--baseline", metavar="REPORT.json",
                       help="mark findings new, unchanged or fixed since an earlier JSON report")
    audit.add_argument("--waivers", metavar="FILE",
                       help="accepted findings (YAML: id, resource glob, justification, owner, expires): "
                            "reported as WAIVED, never as passed, and left out of --fail-on")
    audit.add_argument("--facts", metavar="FILE", help="audit a recorded facts file instead of this host")
    audit.add_argument("--param", action="append", default=[], metavar="CHECK.NAME=VALUE",
                       help="change a check's setting, e.g. engine-version-supported.minimum=27.0 "
                            "(see `list --checks`)")
    audit.add_argument("--remediation", action="store_true", help="show remediation under findings (text)")
    audit.add_argument("--quiet", "-q", action="store_true",
                       help="print only a one-line summary, and nothing when no result reaches --fail-on "
                            "(the report still goes to --output)")
    audit.add_argument("--details", "--wide", dest="wide", action="store_true",
                       help="list every resource on a line of its own and cut no detail (text)")
    audit.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                       help="colour the text report (auto: on a terminal, unless NO_COLOR is set)")

    record = sub.add_parser("record", help="write this host's facts to a JSON file for a later audit")
    _add_collection_options(record)
    record.add_argument("--output", "-o", metavar="FILE", help="write to FILE (atomically) instead of stdout")

    lister = sub.add_parser("list", help="list the profile's recommendations and their checks")
    lister.add_argument("--profile", default=None, metavar="ID|FILE",
                        help="the edition whose recommendations to list, with their ids in the other editions")
    lister.add_argument("--profiles", action="store_true", help="list the benchmark editions")
    lister.add_argument("--checks", action="store_true", help="list the loaded checks and where they are defined")
    lister.add_argument("--files", action="store_true", help="list the file roles YAML checks can name")
    lister.add_argument("--checks-dir", action="append", default=[], metavar="DIR")
    lister.add_argument("--format", "-f", choices=("text", "json"), default="text")

    merge = sub.add_parser("merge", help="combine JSON reports from many hosts into one summary")
    merge.add_argument("reports", nargs="+", metavar="REPORT.json")
    merge.add_argument("--format", "-f", choices=FLEET_FORMATS, default="text")
    merge.add_argument("--output", "-o", action="append", metavar="[FORMAT:]FILE",
                       help="write to FILE (atomically) instead of stdout; repeatable: -o html:fleet.html -o "
                            "prometheus:fleet.prom")
    merge.add_argument("--top", type=_positive_int, default=15, metavar="N", help="how many hosts and recommendations to rank (default 15)")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    args = list(argv)
    if not args or (args[0] not in SUBCOMMANDS and args[0] not in ("-h", "--help", "--version")):
        args.insert(0, "audit")
    return build_parser().parse_args(args)
