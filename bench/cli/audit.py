"""`audit`: collect (or load) facts, evaluate the selected checks, report, and pick the exit status."""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from typing import Any

from bench import TOOL_NAME
from bench.cli.common import collect, load_catalog, load_profile, shipped_profiles, terminal_width
from bench.profile import better_edition
from bench.cli.parser import DEFAULT_TIMEOUT, EXIT_FINDINGS, EXIT_OK, FAIL_ON, UsageError, split_list
from bench.outputs import Output, parse_outputs, render_outputs, write_outputs
from bench.reporters import FORMATS


def run(args: argparse.Namespace) -> int:
    from bench.evaluate import build_report, evaluate, needs_of, now
    from bench.reporters import renderer
    from bench.selection import selection_for

    started, clock = now(), time.monotonic()
    outputs = parse_outputs(args.output, args.format, FORMATS)
    if args.fail_on == "new" and not args.baseline:
        raise UsageError("--fail-on new needs --baseline REPORT.json")
    if args.facts:
        # They choose what is collected: recorded facts are what they are, and silently ignoring
        # --exclude would report the very containers a user meant to leave out.
        given = [name for name, value in (("--include", args.include), ("--exclude", args.exclude),
                                          ("--host", args.docker_host), ("--root", args.root != "/" and args.root),
                                          ("--timeout", args.timeout != DEFAULT_TIMEOUT and args.timeout)) if value]
        if given:
            raise UsageError(f"{', '.join(given)} {'select' if len(given) > 1 else 'selects'} what is collected, "
                             "and --facts collects nothing: "
                             "give them to `record` (or to a live audit)")
    waivers = None
    if args.waivers:
        from bench.waivers import load_waivers

        # Read before collecting: a malformed file must stop the run before any work.
        waivers = load_waivers(args.waivers)
    earlier = None
    if args.baseline:
        from bench.baseline import load_baseline

        earlier = load_baseline(args.baseline)   # None: no such file yet, the first run
    catalog = load_catalog(args)
    editions = shipped_profiles(args, catalog)
    auto = args.profile == "auto"
    # With auto the edition depends on the engine: collect what any shipped edition needs.
    candidates = editions if auto else [load_profile(args, catalog)]
    selected = [c for p in candidates for c in selection_for(p, catalog, [], [], None).checks(catalog)]
    params = _params(args.param, catalog)

    if args.facts:
        from bench.facts_file import read_facts_file

        facts = read_facts_file(args.facts)
        source = f"facts file {args.facts}"
    else:
        extra_paths = sorted({p for c in selected for p in c.paths})
        # Stopped containers too when an edition that may be chosen judges them (v1.7.0 on).
        facts = collect(args, needs_of(selected), extra_paths,
                        all_containers=any(p.wants_all_containers() for p in candidates))
        source = "live"
    profile, reason = _edition(args, facts, candidates, auto)
    selection = selection_for(profile, catalog, split_list(args.check), split_list(args.skip), args.level)
    if not selection.recommendations and not selection.extra_checks:
        # An empty audit would pass: a cron line whose --check and --skip cancel out must not.
        raise UsageError(f"--check, --skip and --level leave no recommendation of {profile.id} to audit")
    results = evaluate(selection.recommendations, catalog.checks, facts, selection.extra_checks, params,
                       every_container=args.all or _all_requested(facts.containers))
    report = build_report(profile, results, facts, started, source, checks=catalog.checks)
    report.profile_reason = reason
    report.duration_seconds = time.monotonic() - clock
    report.hint = "" if auto else better_edition(profile, _engine_version(facts), editions)
    if waivers is not None:
        from bench.profile import concordance
        from bench.waivers import apply_waivers

        today = datetime.datetime.now(datetime.timezone.utc).date()
        report.waivers = apply_waivers(report, waivers, today, concordance(editions).get(profile.id, {}))
    if args.baseline:
        from bench.baseline import compare
        from bench.profile import concordance

        report.baseline = compare(report, earlier, args.baseline, concordance(editions).get(profile.id, {}))

    if args.fail_on == "new":
        failing = bool(report.baseline.new)
    else:
        failing = any(r.status in FAIL_ON[args.fail_on] for r in report.results)
    terminal = sys.stdout.isatty()

    def render(output: Output) -> str:
        shown = output.path is None and terminal
        colour = args.color == "always" or (args.color == "auto" and shown and "NO_COLOR" not in os.environ)
        # On a terminal the text report fits its width; anywhere else (a file, a pipe, a CI log) 100 columns.
        return renderer(output.format)(report, colour=colour, remediation=args.remediation, wide=args.wide,
                                       warn_fails=args.fail_on == "warn", width=terminal_width() if shown else 100)

    # --quiet leaves out what would go to stdout; the files are written all the same.
    write_outputs(render_outputs([o for o in outputs if o.path is not None or not args.quiet], render))
    if args.quiet and failing:
        from bench.reporters.text import summary_line

        sys.stdout.write(summary_line(report))
    return EXIT_FINDINGS if failing else EXIT_OK


def _all_requested(containers: Any) -> bool:
    """Whether the facts were recorded with --all (then every container is judged, as then)."""
    return containers.requested == "all" or (not containers.requested and containers.scope == "all")


def _engine_version(facts: Any) -> str:
    return "" if facts.engine.unavailable() else str(facts.engine.version.get("Version") or "")


def _edition(args: argparse.Namespace, facts: Any, candidates: list[Any], auto: bool) -> tuple[Any, str]:
    """The profile to judge with: the one asked for, or with --profile auto the edition written
    for the engine (said on stderr too)."""
    if not auto:
        return candidates[0], ""
    from bench.profile import DEFAULT_PROFILE, edition_for

    version = _engine_version(facts)
    if version:
        profile, reason = edition_for(version, candidates)
    else:
        profile = next(p for p in candidates if p.id == DEFAULT_PROFILE)
        reason = f"the engine's version is unknown ({facts.engine.unavailable() or 'not reported'}): the default edition"
    print(f"{TOOL_NAME}: --profile auto: {profile.id}, as {reason}", file=sys.stderr)
    return profile, reason


def _params(entries: list[str], catalog: Any) -> dict[str, dict[str, Any]]:
    """--param CHECK.NAME=VALUE, each checked against the check's settings and prepared by it."""
    from bench.yaml_checks.params import param_value, unknown_param

    params: dict[str, dict[str, Any]] = {}
    for entry in entries:
        key, eq, value = entry.partition("=")
        check_id, dot, name = key.rpartition(".")
        if not eq or not dot:
            raise UsageError(f"--param takes CHECK.NAME=VALUE, not {entry!r}")
        if check_id not in catalog:
            raise UsageError(f"--param {entry}: no check named {check_id!r}")
        check = catalog[check_id]
        problem = unknown_param(check, name)
        if problem:
            raise UsageError(f"--param {entry}: {problem}")
        try:
            # The same reading as a profile's params get (bench/yaml_checks/params.py).
            value = param_value(check, name, value)
        except ValueError as exc:
            raise UsageError(f"--param {entry}: {exc}") from None
        params.setdefault(check_id, {})[name] = value
    return params
