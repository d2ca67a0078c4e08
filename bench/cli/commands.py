"""`record`, `list` and `merge`."""
from __future__ import annotations

import argparse
import sys

from bench.cli.common import collect, load_catalog, load_profile, write
from bench.cli.parser import EXIT_OK


def record(args: argparse.Namespace) -> int:
    from bench.facts import FACT_GROUPS, facts_to_json

    catalog = load_catalog(args)
    extra_paths = sorted({p for c in catalog for p in c.paths})
    facts = collect(args, FACT_GROUPS, extra_paths)
    # Recorded facts describe a host in detail: readable by their owner only.
    write(args, facts_to_json(facts), mode=0o600)
    return EXIT_OK


def merge(args: argparse.Namespace) -> int:
    from bench.merge import merge_reports, render_merge

    write(args, render_merge(merge_reports(args.reports), args.format, args.top))
    return EXIT_OK


def list_(args: argparse.Namespace) -> int:
    from bench.reporters.listing import render_checks, render_files, render_profile

    catalog = load_catalog(args)
    if args.files:
        text = render_files(args.format)
    elif args.checks:
        text = render_checks(catalog, args.format)
    else:
        text = render_profile(load_profile(args, catalog), args.format)
    sys.stdout.write(text)
    return EXIT_OK
