"""What the commands share: loading checks and the profile, reaching the host, writing output."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from bench import TOOL_NAME
from bench.cli.parser import UsageError, split_list


def load_catalog(args: argparse.Namespace) -> Any:
    from bench.catalog import load_checks

    return load_checks([Path(d) for d in args.checks_dir])


def load_profile(args: argparse.Namespace, catalog: Any, name: str = "") -> Any:
    from bench.profile import DEFAULT_PROFILE, check_references, load_profile as load

    from bench.profile import ProfileError, available_profiles, profile_path, profiles_dir

    chosen = name or args.profile or DEFAULT_PROFILE
    profile = load(chosen)
    check_references(profile, [c.id for c in catalog])
    if profile.id in available_profiles() and profile_path(chosen).resolve().parent != profiles_dir().resolve():
        # A site's own profile file under a shipped id: its reports, merges and baselines would pass
        # for that edition's.
        raise ProfileError(chosen, f"id {profile.id!r} is a shipped edition's: give this profile an id of its own")
    return profile


def shipped_profiles(args: argparse.Namespace, catalog: Any) -> list[Any]:
    from bench.profile import available_profiles

    return [load_profile(args, catalog, name) for name in available_profiles()]


def write(args: argparse.Namespace, text: str, mode: int = 0o644) -> None:
    if args.output:
        from bench.output import write_atomically

        try:
            write_atomically(args.output, text, mode)
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def terminal_width() -> int:
    """Columns of the terminal standard output is on: the text report's width there."""
    return shutil.get_terminal_size((100, 24)).columns


def host(args: argparse.Namespace) -> Any:
    from bench.hostio import Host

    if not os.path.isdir(args.root):
        raise UsageError(f"--root {args.root}: not a directory")
    if args.root != "/" and not os.path.isdir(os.path.join(args.root, "proc", "1")):
        raise UsageError(f"--root {args.root}: no host /proc under it (mount the host's / and run with --pid host)")
    return Host(args.root)


def collect(args: argparse.Namespace, needs: Any, extra_paths: list[str], all_containers: bool = False) -> Any:
    """This host's facts; stopped containers too with --all or when the edition judges them."""
    from bench.collect import CollectOptions, collect_facts
    from bench.engine_api.session import EngineOptions
    from bench.progress import Progress

    engine = EngineOptions(base_url=args.docker_host, timeout=args.timeout, all_containers=args.all or all_containers,
                           include=split_list(args.include), exclude=split_list(args.exclude))
    with Progress(sys.stderr) as progress:
        options = CollectOptions(needs=needs, engine=engine, extra_paths=extra_paths, progress=progress.update)
        facts = collect_facts(host(args), options)
    facts.containers.requested = "all" if args.all else "running"
    if facts.engine.error and "engine" in needs:
        print(f"{TOOL_NAME}: cannot reach the Docker daemon: {facts.engine.error}; "
              "checks that need it are ERROR", file=sys.stderr)
    return facts
