"""Command line: `docker-cis-bench [audit|record|list] ...`.

Exit status: 0 nothing reached the --fail-on threshold, 1 something did, 2 a usage or
configuration error (bad option, bad check file or profile, unreadable facts file).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from bench import TOOL_NAME, __version__
from bench.status import Status

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
SUBCOMMANDS = ("audit", "record", "list", "merge")
FAIL_ON = {
    "fail": (Status.FAIL, Status.ERROR),
    "warn": (Status.FAIL, Status.ERROR, Status.WARN),
    "new": (),      # only findings that are not in the --baseline report
    "never": (),
}


class UsageError(Exception):
    """Reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


def _split(values: Optional[list[str]]) -> list[str]:
    out: list[str] = []
    for value in values or []:
        out += [v.strip() for v in value.split(",") if v.strip()]
    return out


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _add_collection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", help="audit all containers, not only running ones")
    p.add_argument("--include", action="append", metavar="GLOB",
                   help="only containers whose name matches (repeatable, comma-separated)")
    p.add_argument("--exclude", action="append", metavar="GLOB",
                   help="leave out containers whose name matches (repeatable, comma-separated)")
    p.add_argument("--host", "-H", dest="docker_host", metavar="URL",
                   help="Docker API endpoint: unix://, tcp://, ssh://[user@]host[:port] (default: $DOCKER_HOST, "
                        "else unix:///var/run/docker.sock, else a rootless daemon's $XDG_RUNTIME_DIR/docker.sock)")
    p.add_argument("--timeout", type=_positive, default=10.0, metavar="SECONDS",
                   help="timeout for each Docker API call (default: 10)")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE (atomically) instead of stdout")
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
    audit.add_argument("--profile", default=None, metavar="ID|FILE", help="benchmark profile (default: cis-docker-1.11.0)")
    audit.add_argument("--check", action="append", metavar="ID", help="only these CIS ids, sections or check ids")
    audit.add_argument("--skip", action="append", metavar="ID", help="leave out these CIS ids, sections or check ids")
    audit.add_argument("--level", type=int, choices=(1, 2), help="1: level 1 only; 2: levels 1 and 2 (default: all)")
    audit.add_argument("--format", "-f", choices=("text", "json", "junit"), default="text")
    audit.add_argument("--fail-on", choices=tuple(FAIL_ON), default="fail",
                       help="exit 1 when a result is at least this bad (default: fail; ERROR counts as fail); "
                            "new: only on findings not in the --baseline report")
    audit.add_argument("--baseline", metavar="REPORT.json",
                       help="mark findings new, unchanged or fixed since an earlier JSON report")
    audit.add_argument("--facts", metavar="FILE", help="audit a recorded facts file instead of this host")
    audit.add_argument("--param", action="append", default=[], metavar="CHECK.NAME=VALUE",
                       help="change a check's setting, e.g. engine-version-supported.minimum=27.0 "
                            "(see `list --checks`)")
    audit.add_argument("--remediation", action="store_true", help="show remediation under findings (text)")
    audit.add_argument("--quiet", "-q", action="store_true",
                       help="print only a one-line summary, and nothing when no result reaches --fail-on "
                            "(the report still goes to --output)")
    audit.add_argument("--wide", action="store_true", help="do not shorten titles and details (text)")
    audit.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                       help="colour the text report (auto: on a terminal, unless NO_COLOR is set)")

    record = sub.add_parser("record", help="write this host's facts to a JSON file for a later audit")
    _add_collection_options(record)

    lister = sub.add_parser("list", help="list the profile's recommendations and their checks")
    lister.add_argument("--profile", default=None, metavar="ID|FILE")
    lister.add_argument("--checks", action="store_true", help="list the loaded checks and where they are defined")
    lister.add_argument("--files", action="store_true", help="list the file roles YAML checks can name")
    lister.add_argument("--checks-dir", action="append", default=[], metavar="DIR")
    lister.add_argument("--format", "-f", choices=("text", "json"), default="text")

    merge = sub.add_parser("merge", help="combine JSON reports from many hosts into one summary")
    merge.add_argument("reports", nargs="+", metavar="REPORT.json")
    merge.add_argument("--format", "-f", choices=("text", "json"), default="text")
    merge.add_argument("--output", "-o", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    merge.add_argument("--top", type=int, default=15, metavar="N", help="how many recommendations to rank (default 15)")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    args = list(argv)
    if not args or (args[0] not in SUBCOMMANDS and args[0] not in ("-h", "--help", "--version")):
        args.insert(0, "audit")
    return build_parser().parse_args(args)


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        if args.command == "list":
            return _list(args)
        if args.command == "record":
            return _record(args)
        if args.command == "merge":
            return _merge(args)
        return _audit(args)
    except UsageError as exc:
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


def _load_checks(args: argparse.Namespace) -> Any:
    from bench.loader import load_checks
    from bench.yaml_checks import CheckFileError

    try:
        return load_checks([Path(d) for d in args.checks_dir])
    except CheckFileError as exc:
        raise UsageError(str(exc)) from None


def _load_profile(args: argparse.Namespace, checks: Any) -> Any:
    from bench.profile import DEFAULT_PROFILE, ProfileError, check_references, load_profile

    try:
        profile = load_profile(args.profile or DEFAULT_PROFILE)
        check_references(profile, [c.id for c in checks])
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    return profile


def _engine_options(args: argparse.Namespace) -> Any:
    from bench.engine_api.session import EngineOptions

    return EngineOptions(base_url=args.docker_host, timeout=args.timeout, all_containers=args.all,
                         include=_split(args.include), exclude=_split(args.exclude))


def _write(args: argparse.Namespace, text: str, mode: int = 0o644) -> None:
    if args.output:
        from bench.output import write_atomically

        try:
            write_atomically(args.output, text, mode)
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def _collect(args: argparse.Namespace, needs: Any, extra_paths: list[str]) -> Any:
    from bench.collect import CollectOptions, collect_facts
    from bench.progress import Progress

    with Progress(sys.stderr) as progress:
        options = CollectOptions(needs=needs, engine=_engine_options(args), extra_paths=extra_paths,
                                 progress=progress.update)
        facts = collect_facts(_host(args), options)
    for group in ("engine",):
        probe = facts.group(group)
        if probe.error and group in needs:
            print(f"{TOOL_NAME}: cannot reach the Docker daemon: {probe.error}; "
                  "checks that need it are ERROR", file=sys.stderr)
    return facts


def _host(args: argparse.Namespace) -> Any:
    from bench.hostio import Host

    if not os.path.isdir(args.root):
        raise UsageError(f"--root {args.root}: not a directory")
    if args.root != "/" and not os.path.isdir(os.path.join(args.root, "proc", "1")):
        raise UsageError(f"--root {args.root}: no host /proc under it (mount the host's / and run with --pid host)")
    return Host(args.root)


def _load_facts(path: str) -> Any:
    from bench.facts import FactsError, facts_from_json

    try:
        with open(path, "rb") as handle:
            data = handle.read(512 * 1024 * 1024)
    except OSError as exc:
        raise UsageError(f"cannot read facts file {path}: {exc.strerror or exc}") from None
    try:
        return facts_from_json(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"facts file {path}: not UTF-8 text") from None
    except FactsError as exc:
        raise UsageError(f"facts file {path}: {exc}") from None


def _audit(args: argparse.Namespace) -> int:
    from bench.engine import build_report, evaluate, needs_of, now
    from bench.profile import SelectionError, select
    from bench.reporters import renderer

    started = now()
    if args.fail_on == "new" and not args.baseline:
        raise UsageError("--fail-on new needs --baseline REPORT.json")
    earlier = _load_baseline(args.baseline) if args.baseline else None
    checks = _load_checks(args)
    profile = _load_profile(args, checks)
    include, exclude = _split(args.check), _split(args.skip)
    referenced = {slug for rec in profile.recommendations for slug in rec.checks}
    # Checks a user or plugin added that the profile does not map are reported on their own.
    extras = [c for c in checks if c.id not in referenced and c.id not in checks.builtin_ids]
    extra_ids = {c.id for c in extras}
    try:
        recs = select(profile, [t for t in include if t not in extra_ids], [t for t in exclude if t not in extra_ids],
                      args.level)
    except SelectionError as exc:
        raise UsageError(str(exc)) from None
    if include:
        recs = recs if any(t not in extra_ids for t in include) else []
        extras = [c for c in extras if c.id in include]
    extras = [c for c in extras if c.id not in exclude]
    selected = [checks[slug] for rec in recs for slug in rec.checks] + extras
    params = _params(args.param, checks)

    if args.facts:
        facts = _load_facts(args.facts)
        source = f"facts file {args.facts}"
    else:
        extra_paths = sorted({p for c in selected for p in c.paths})
        facts = _collect(args, needs_of(selected), extra_paths)
        source = "live"
    results = evaluate(profile, recs, checks.checks, facts, extras, params)
    report = build_report(profile, results, facts, started, source)
    if earlier is not None:
        from bench.baseline import compare

        report.baseline = compare(report, earlier, args.baseline)

    if args.fail_on == "new":
        failing = bool(report.baseline.new)
    else:
        failing = any(r.status in FAIL_ON[args.fail_on] for r in report.results)
    colour = args.color == "always" or (args.color == "auto" and not args.output and sys.stdout.isatty()
                                        and "NO_COLOR" not in os.environ)
    if args.output or not args.quiet:
        text = renderer(args.format)(report, colour=colour, remediation=args.remediation, wide=args.wide,
                                     warn_fails=args.fail_on == "warn")
        _write(args, text)
    if args.quiet and failing:
        from bench.reporters.text import summary_line

        sys.stdout.write(summary_line(report))
    return EXIT_FINDINGS if failing else EXIT_OK


def _load_baseline(path: str) -> Any:
    from bench.baseline import BaselineError, load_baseline

    try:
        return load_baseline(path)
    except BaselineError as exc:
        raise UsageError(str(exc)) from None


def _params(entries: list[str], checks: Any) -> dict[str, dict[str, Any]]:
    params: dict[str, dict[str, Any]] = {}
    for entry in entries:
        key, eq, value = entry.partition("=")
        check_id, dot, name = key.rpartition(".")
        if not eq or not dot:
            raise UsageError(f"--param takes CHECK.NAME=VALUE, not {entry!r}")
        if check_id not in checks:
            raise UsageError(f"--param {entry}: no check named {check_id!r}")
        check = checks[check_id]
        if name not in check.params:
            known = ", ".join(sorted(check.params)) or "none"
            raise UsageError(f"--param {entry}: check {check_id} has no parameter {name!r} (it has: {known})")
        if check.prepare is not None:
            try:
                value = check.prepare(name, value)
            except ValueError as exc:
                raise UsageError(f"--param {entry}: {exc}") from None
        params.setdefault(check_id, {})[name] = value
    return params


def _record(args: argparse.Namespace) -> int:
    from bench.facts import FACT_GROUPS, facts_to_json

    checks = _load_checks(args)
    extra_paths = sorted({p for c in checks for p in c.paths})
    facts = _collect(args, FACT_GROUPS, extra_paths)
    # Recorded facts describe a host in detail: readable by their owner only.
    _write(args, facts_to_json(facts), mode=0o600)
    return EXIT_OK


def _merge(args: argparse.Namespace) -> int:
    from bench.merge import MergeError, merge_reports, render_merge

    try:
        fleet = merge_reports(args.reports)
    except MergeError as exc:
        raise UsageError(str(exc)) from None
    _write(args, render_merge(fleet, args.format, args.top))
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from bench.reporters.listing import render_checks, render_files, render_profile

    checks = _load_checks(args)
    if args.files:
        text = render_files(args.format)
    elif args.checks:
        text = render_checks(checks, args.format)
    else:
        text = render_profile(_load_profile(args, checks), checks, args.format)
    sys.stdout.write(text)
    return EXIT_OK
