"""`record`, `list` and `merge`."""
from __future__ import annotations

import argparse
import sys

from bench.cli.common import collect, load_catalog, load_profile, shipped_profiles, write
from bench.cli.parser import EXIT_OK


def record(args: argparse.Namespace) -> int:
    from bench.facts import ALL_NEEDS
    from bench.facts_file import facts_to_json

    catalog = load_catalog(args)
    extra_paths = sorted({p for c in catalog for p in c.paths})
    # Every container, stopped ones too: a later audit may use an edition that judges them all.
    facts = collect(args, ALL_NEEDS, extra_paths, all_containers=True)
    # Recorded facts describe a host in detail: readable by their owner only.
    write(args, facts_to_json(facts), mode=0o600)
    return EXIT_OK


def merge(args: argparse.Namespace) -> int:
    from bench.merge import merge_reports, render_merge
    from bench.outputs import parse_outputs, render_outputs, write_outputs
    from bench.reporters import FLEET_FORMATS, FORMATS

    outputs = parse_outputs(args.output, args.format, FLEET_FORMATS, FORMATS)
    fleet = merge_reports(args.reports)
    write_outputs(render_outputs(outputs, lambda output: render_merge(fleet, output.format, args.top)))
    return EXIT_OK


def list_(args: argparse.Namespace) -> int:
    from bench.profile import concordance
    from bench.reporters.listing import render_checks, render_files, render_profile, render_profiles

    catalog = load_catalog(args)
    if args.files:
        text = render_files(args.format)
    elif args.checks:
        text = render_checks(catalog, args.format)
    elif args.profiles:
        text = render_profiles(shipped_profiles(args, catalog), args.format)
    else:
        editions = shipped_profiles(args, catalog)
        profile = load_profile(args, catalog)
        text = render_profile(profile, args.format, concordance(editions + [profile]).get(profile.id, {}),
                              [p.id for p in editions if p.id != profile.id])
    sys.stdout.write(text)
    return EXIT_OK
