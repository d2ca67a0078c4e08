"""`docker-cis-bench list`: the profile's recommendations, the loaded checks, the file roles."""
from __future__ import annotations

import json
import textwrap
from typing import Any, Iterable, Optional

from tabulate import tabulate

from bench.roles import ROLES
from bench.profile import Profile

WIDTH = 100


def render_profile(profile: Profile, fmt: str, other_ids: Optional[dict[str, dict[str, str]]] = None,
                   others: Iterable[str] = ()) -> str:
    """The edition's recommendations, and each one's id in the other editions (other_ids: rec id ->
    {profile id: its id there})."""
    others = list(others)
    other_ids = other_ids or {}
    rows = []
    for rec in profile.recommendations:
        rows.append({"id": rec.id, "section": rec.section, "title": rec.title, "label": rec.label,
                     "scored": rec.scored, "level": rec.level, "automation": rec.automation, "checks": list(rec.checks),
                     "same_as": {o: other_ids.get(rec.id, {}).get(o, "") for o in others}})
    if fmt == "json":
        return json.dumps({"profile": {"id": profile.id, "title": profile.title, "edition": profile.edition,
                                       "labels": profile.labels}, "recommendations": rows}, indent=2) + "\n"
    table = [[r["id"], r["level"], r["label"], r["automation"], r["title"], ", ".join(r["checks"])]
             + [r["same_as"][o] or "-" for o in others] for r in rows]
    head = f"{profile.title} ({profile.id}): {len(rows)} recommendations\n\n"
    return head + tabulate(table, headers=["ID", "Level", "Label", "Automation", "Title", "Checks"] + others,
                           disable_numparse=True) + "\n"


def render_profiles(profiles: Iterable[Profile], fmt: str) -> str:
    rows = [{"id": p.id, "title": p.title, "edition": p.edition, "published": p.published, "labels": p.labels,
             "engines": p.engines, "engines_max": p.engines_max, "recommendations": len(p.recommendations)}
            for p in sorted(profiles, key=lambda p: p.published)]
    if fmt == "json":
        return json.dumps({"profiles": rows}, indent=2) + "\n"
    table = [[r["id"], r["title"], r["published"], r["recommendations"],
              _engines(r["engines"], r["engines_max"]),
              "Scored / Not Scored" if r["labels"] == "scored" else "Automated / Manual"] for r in rows]
    return tabulate(table, headers=["Profile", "Edition", "Published", "Recommendations", "Written for Engine",
                                    "Labels"], disable_numparse=True) + "\n"


def render_checks(checks: Any, fmt: str) -> str:
    rows = [{"id": c.id, "kind": c.kind, "target": c.target, "needs": list(c.needs), "source": c.source,
             "title": c.title, "description": c.description, "rationale": c.rationale,
             "references": list(c.references), "params": {k: str(v) for k, v in c.params.items()}}
            for c in sorted(checks, key=lambda c: c.id)]
    if fmt == "json":
        return json.dumps({"checks": rows}, indent=2) + "\n"
    blocks = []
    for r in rows:
        lines = [f"{r['id']}: {r['title']}", f"  {r['kind']} check on {r['target']}, defined at {r['source']}"]
        for label, text in (("Inspects", r["description"]), ("Why", r["rationale"])):
            if text:
                lines += textwrap.wrap(f"{label}: {text}", WIDTH, initial_indent="  ", subsequent_indent="    ")
        if r["params"]:
            lines.append("  Settings: " + ", ".join(f"--param {r['id']}.{k}={v}" for k, v in r["params"].items()))
        lines += [f"  See: {ref}" for ref in r["references"]]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def render_files(fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"roles": ROLES}, indent=2) + "\n"
    return tabulate(sorted(ROLES.items()), headers=["File role", "What it is"]) + "\n"


def _engines(oldest: str, newest: str) -> str:
    if not newest:
        return f"{oldest} and later"
    return oldest if newest == oldest else f"{oldest} to {newest}"
