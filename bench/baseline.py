"""Compare a report with an earlier JSON report: which findings are new, unchanged or fixed.

A finding is a (recommendation id, resource) pair whose status is FAIL, WARN or ERROR; a
recommendation without per-resource items is its own resource (""). A finding whose status got
worse than in the earlier report (WARN to FAIL: a read-only bind of /etc made read-write) is new
too. A nightly job then alerts on what changed (`--fail-on new`), not on every known finding.

Findings are compared in the audited edition's numbering: a baseline of another edition (5.10 is
memory in 1.11.0 and the host's network in v1.8.0) has its ids translated through the profiles'
concordance, and its findings the audited edition has no id for are counted apart, never matched.
A recommendation that is ERROR now fixed nothing (the audit could not look), and resources are
compared as the JSON report writes them (an undecodable byte escaped), so a report is its own
baseline.

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
from bench.sanitize import json_text
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
    edition: str = ""         # the baseline's edition, when it is not the audited one (ids translated)
    not_comparable: int = 0   # its findings whose recommendation the audited edition does not have

    def change_of(self, rec_id: str, resource: str) -> str:
        return "new" if (rec_id, json_text(resource)) in self._new else "unchanged"

    def __post_init__(self) -> None:
        self._new = set(self.new)

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "unchanged": len(self.unchanged), "fixed": len(self.fixed)}


@dataclass
class Baseline:
    findings: dict[Key, str]
    profile_id: str = ""      # the edition the earlier report was judged against ("" if unknown)


def findings_of_report(report: Report) -> dict[Key, str]:
    found: dict[Key, str] = {}
    for result in report.results:
        flagged = [i for i in result.items if i.status in FINDINGS]
        if flagged:
            for item in flagged:
                found[(result.id, json_text(item.resource))] = item.status.value
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


def load_baseline(path: str) -> Optional[Baseline]:
    """The earlier report's findings and edition; None when the file does not exist yet (the first run)."""
    if not os.path.lexists(path):   # a dangling symlink exists: reading it fails below, naming it
        directory = os.path.dirname(path) or "."
        if not os.path.isdir(directory):
            # A mistyped directory would make every run a first run, and no run would ever write there.
            raise ReportFileError(f"baseline: cannot read {path}: the directory {directory} does not exist")
        return None
    data = load_report(path, "baseline")
    profile = data.get("profile")
    profile_id = str(profile.get("id") or "") if isinstance(profile, dict) else ""
    return Baseline(findings_of_json(data, path), profile_id)


def compare(report: Report, baseline: Optional[Baseline], source: str,
            translate: Optional[dict[str, dict[str, str]]] = None) -> Comparison:
    """`translate` is the audited edition's concordance (its rec id -> {other edition: its id})."""
    now = findings_of_report(report)
    if baseline is None:
        comparison = Comparison(source=source, new=sorted(now), first_run=True)
        comparison.__post_init__()
        return comparison
    earlier, edition, not_comparable = _in_audited_numbering(baseline, report.profile_id, translate or {})
    # Recommendations this run did not evaluate (--check/--skip), or could not judge (ERROR: the
    # resources it no longer lists may only be out of sight), fixed nothing.
    judged = {r.id for r in report.results if r.status != Status.ERROR}
    comparison = Comparison(source=source, edition=edition, not_comparable=not_comparable)
    comparison.worse = {k: earlier[k] for k in now if k in earlier and _worse(now[k], earlier[k])}
    comparison.new = sorted(k for k in now if k not in earlier or k in comparison.worse)
    comparison.unchanged = sorted(k for k in now if k in earlier and k not in comparison.worse)
    # A finding waived since is still there: not fixed.
    waived = _waived(report)
    comparison.fixed = sorted((k[0], k[1], v) for k, v in earlier.items()
                              if k not in now and k not in waived and k[0] in judged)
    comparison.__post_init__()
    return comparison


def _in_audited_numbering(baseline: Baseline, profile_id: str,
                          translate: dict[str, dict[str, str]]) -> tuple[dict[Key, str], str, int]:
    """The baseline's findings keyed by the audited edition's ids; the baseline's edition when it
    differs; how many of its findings have no id there (a recommendation the edition dropped)."""
    if not baseline.profile_id or baseline.profile_id == profile_id:
        return baseline.findings, "", 0
    ours = {ids[baseline.profile_id]: rec for rec, ids in translate.items() if ids.get(baseline.profile_id)}
    found = {(ours[rec], resource): status for (rec, resource), status in baseline.findings.items() if rec in ours}
    return found, baseline.profile_id, len(baseline.findings) - len(found)


def _waived(report: Report) -> set[Key]:
    found = set()
    for result in report.results:
        found |= {(result.id, json_text(i.resource)) for i in result.items if i.status == Status.WAIVED}
        if result.status == Status.WAIVED and not result.items:
            found.add((result.id, ""))
    return found


def _worse(now: str, before: str) -> bool:
    rank = {status.value: index for index, status in enumerate(SEVERITY)}
    return rank.get(now, len(rank)) < rank.get(before, len(rank))
