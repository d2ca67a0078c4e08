"""Compare a report with an earlier JSON report: which findings are new, unchanged or fixed.

A finding is a (recommendation id, resource) pair whose status is FAIL, WARN or ERROR; a
recommendation without per-resource items is its own resource (""). A finding whose status got
worse than in the earlier report (WARN to FAIL: a read-only bind of /etc made read-write) is new
too. A nightly job then alerts on what changed (`--fail-on new`), not on every known finding.

A baseline file that does not exist yet is the first run: there is nothing to compare with, every
finding is new, and the report says so, so that the report it writes becomes the next run's
baseline. A file that exists and cannot be read, or is no report, is the user's to fix (exit 2).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from bench.report_files import ReportFileError, load_report
from bench.results import Report
from bench.status import FINDINGS, SEVERITY, Status

Key = tuple[str, str]


@dataclass
class Comparison:
    source: str
    new: list[Key] = field(default_factory=list)
    unchanged: list[Key] = field(default_factory=list)
    fixed: list[tuple[str, str, str]] = field(default_factory=list)  # (id, resource, earlier status)
    worse: dict[Key, str] = field(default_factory=dict)   # new because worse than: the earlier status
    first_run: bool = False   # the baseline file did not exist yet

    def change_of(self, rec_id: str, resource: str) -> str:
        return "new" if (rec_id, resource) in self._new else "unchanged"

    def __post_init__(self) -> None:
        self._new = set(self.new)

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "unchanged": len(self.unchanged), "fixed": len(self.fixed)}


def findings_of_report(report: Report) -> dict[Key, str]:
    found: dict[Key, str] = {}
    for result in report.results:
        flagged = [i for i in result.items if i.status in FINDINGS]
        if flagged:
            for item in flagged:
                found[(result.id, item.resource)] = item.status.value
        elif result.status in FINDINGS:
            found[(result.id, "")] = result.status.value
    return found


def findings_of_json(data: dict[str, Any], source: str) -> dict[Key, str]:
    found: dict[Key, str] = {}
    statuses = {s.value for s in FINDINGS}
    try:
        for result in data["results"]:
            items = [i for i in result.get("items") or [] if i.get("status") in statuses]
            if items:
                for item in items:
                    found[(str(result["id"]), str(item["resource"]))] = item["status"]
            elif result.get("status") in statuses:
                found[(str(result["id"]), "")] = result["status"]
    except (AttributeError, KeyError, TypeError):
        raise ReportFileError(f"{source}: a result lacks its id, status or items") from None
    return found


def load_baseline(path: str) -> Optional[dict[Key, str]]:
    """The earlier report's findings; None when the file does not exist yet (the first run)."""
    if not os.path.lexists(path):   # a dangling symlink exists: reading it fails below, naming it
        directory = os.path.dirname(path) or "."
        if not os.path.isdir(directory):
            # A mistyped directory would make every run a first run, and no run would ever write there.
            raise ReportFileError(f"baseline: cannot read {path}: the directory {directory} does not exist")
        return None
    return findings_of_json(load_report(path, "baseline"), path)


def compare(report: Report, earlier: Optional[dict[Key, str]], source: str) -> Comparison:
    now = findings_of_report(report)
    if earlier is None:
        comparison = Comparison(source=source, new=sorted(now), first_run=True)
        comparison.__post_init__()
        return comparison
    # Recommendations this run did not evaluate (--check/--skip) are neither fixed nor new.
    evaluated = {r.id for r in report.results}
    comparison = Comparison(source=source)
    comparison.worse = {k: earlier[k] for k in now if k in earlier and _worse(now[k], earlier[k])}
    comparison.new = sorted(k for k in now if k not in earlier or k in comparison.worse)
    comparison.unchanged = sorted(k for k in now if k in earlier and k not in comparison.worse)
    # A finding waived since is still there: not fixed.
    waived = _waived(report)
    comparison.fixed = sorted((k[0], k[1], v) for k, v in earlier.items()
                              if k not in now and k not in waived and k[0] in evaluated)
    comparison.__post_init__()
    return comparison


def _waived(report: Report) -> set[Key]:
    found = set()
    for result in report.results:
        found |= {(result.id, i.resource) for i in result.items if i.status == Status.WAIVED}
        if result.status == Status.WAIVED and not result.items:
            found.add((result.id, ""))
    return found


def _worse(now: str, before: str) -> bool:
    rank = {status.value: index for index, status in enumerate(SEVERITY)}
    return rank.get(now, len(rank)) < rank.get(before, len(rank))
