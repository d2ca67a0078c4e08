"""`docker-cis-bench list`: the profile's recommendations, the loaded checks, the file roles."""
from __future__ import annotations

import json
import textwrap
from typing import Any

from tabulate import tabulate

from bench.roles import ROLES
from bench.profile import Profile

WIDTH = 100


def render_profile(profile: Profile, fmt: str) -> str:
    rows = []
    for rec in profile.recommendations:
        rows.append({"id": rec.id, "section": rec.section, "title": rec.title, "scored": rec.scored,
                     "level": rec.level, "automation": rec.automation, "checks": list(rec.checks)})
    if fmt == "json":
        return json.dumps({"profile": {"id": profile.id, "title": profile.title},
                           "recommendations": rows}, indent=2) + "\n"
    table = [[r["id"], r["level"], "yes" if r["scored"] else "no", r["automation"], r["title"], ", ".join(r["checks"])]
             for r in rows]
    head = f"{profile.title} ({profile.id}): {len(rows)} recommendations\n\n"
    return head + tabulate(table, headers=["ID", "Level", "Scored", "Automation", "Title", "Checks"],
                           disable_numparse=True) + "\n"


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
