"""`audit`: collect (or load) facts, evaluate the selected checks, report, and pick the exit status."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from bench.cli.common import collect, load_catalog, load_profile, write
from bench.cli.parser import EXIT_FINDINGS, EXIT_OK, FAIL_ON, UsageError, split_list


def run(args: argparse.Namespace) -> int:
    from bench.evaluate import build_report, evaluate, needs_of, now
    from bench.reporters import renderer
    from bench.selection import selection_for

    started = now()
    if args.fail_on == "new" and not args.baseline:
        raise UsageError("--fail-on new needs --baseline REPORT.json")
    earlier = None
    if args.baseline:
        from bench.baseline import load_baseline

        earlier = load_baseline(args.baseline)
    catalog = load_catalog(args)
    profile = load_profile(args, catalog)
    selection = selection_for(profile, catalog, split_list(args.check), split_list(args.skip), args.level)
    selected = selection.checks(catalog)
    params = _params(args.param, catalog)

    if args.facts:
        from bench.facts import read_facts_file

        facts = read_facts_file(args.facts)
        source = f"facts file {args.facts}"
    else:
        extra_paths = sorted({p for c in selected for p in c.paths})
        facts = collect(args, needs_of(selected), extra_paths)
        source = "live"
    results = evaluate(selection.recommendations, catalog.checks, facts, selection.extra_checks, params)
    report = build_report(profile, results, facts, started, source, checks=catalog.checks)
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
        write(args, text)
    if args.quiet and failing:
        from bench.reporters.text import summary_line

        sys.stdout.write(summary_line(report))
    return EXIT_FINDINGS if failing else EXIT_OK


def _params(entries: list[str], catalog: Any) -> dict[str, dict[str, Any]]:
    """--param CHECK.NAME=VALUE, each checked against the check's settings and prepared by it."""
    params: dict[str, dict[str, Any]] = {}
    for entry in entries:
        key, eq, value = entry.partition("=")
        check_id, dot, name = key.rpartition(".")
        if not eq or not dot:
            raise UsageError(f"--param takes CHECK.NAME=VALUE, not {entry!r}")
        if check_id not in catalog:
            raise UsageError(f"--param {entry}: no check named {check_id!r}")
        check = catalog[check_id]
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
