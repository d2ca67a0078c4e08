"""What checks return and what the report is made of."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from bench.status import Status, worst


@dataclass(frozen=True)
class Outcome:
    """A verdict with its reason, before it is attached to a check or a resource."""

    status: Status
    detail: str = ""


def passed(detail: str = "") -> Outcome:
    return Outcome(Status.PASS, detail)


def failed(detail: str) -> Outcome:
    return Outcome(Status.FAIL, detail)


def warned(detail: str) -> Outcome:
    return Outcome(Status.WARN, detail)


def info(detail: str) -> Outcome:
    return Outcome(Status.INFO, detail)


def skipped(reason: str) -> Outcome:
    return Outcome(Status.SKIP, reason)


def errored(reason: str) -> Outcome:
    return Outcome(Status.ERROR, reason)


@dataclass(frozen=True)
class Item:
    """A per-resource finding: one container, file, image or daemon setting."""

    resource: str
    status: Status
    detail: str = ""
    waiver: Optional[Any] = None   # the bench.waivers.Waiver that accepted this finding (status WAIVED)


@dataclass
class CheckResult:
    check: str
    status: Status
    details: str = ""
    items: list[Item] = field(default_factory=list)


def rollup(check: str, items: list[Item], *, none: Outcome, summary: Optional[str] = None) -> CheckResult:
    """One result from per-resource items: the worst item wins; `none` says what no items mean."""
    if not items:
        return CheckResult(check, none.status, none.detail, [])
    status = worst(item.status for item in items)
    if summary is None:
        summary = _summarise(items, status)
    return CheckResult(check, status, summary, list(items))


def _summarise(items: list[Item], status: Status) -> str:
    if len(items) == 1:
        item = items[0]
        return f"{item.resource}: {item.detail}" if item.detail else item.resource
    if len({(i.status, i.detail) for i in items}) == 1:
        return f"{items[0].detail} (all {len(items)})"
    hits = [item for item in items if item.status == status]
    if status == Status.PASS:
        return f"all {len(items)} compliant"
    names = ", ".join(item.resource for item in hits[:10]) + (f" and {len(hits) - 10} more" if len(hits) > 10 else "")
    # The status column says FAIL or WARN (a not-scored recommendation turns one into the other).
    return f"{len(hits)} of {len(items)}: {names}"


@dataclass
class RecommendationResult:
    id: str
    section: str
    title: str
    scored: bool
    level: int
    status: Status
    details: str
    remediation: str
    checks: list[str]
    items: list[Item] = field(default_factory=list)
    automation: str = "automated"
    label: str = ""           # the edition's label: Scored, Not Scored, Automated, Manual
    waivers: list[Any] = field(default_factory=list)           # waivers that accepted (part of) it
    expired_waivers: list[Any] = field(default_factory=list)   # waivers that would, had they not expired


@dataclass(frozen=True)
class CheckInfo:
    """What a check is about, for a reader of the report."""

    id: str
    title: str
    description: str = ""
    rationale: str = ""
    references: tuple[str, ...] = ()


@dataclass
class Report:
    tool_name: str
    tool_version: str
    profile_id: str
    profile_title: str
    hostname: str
    docker_version: Optional[str]
    started_at: str
    finished_at: str
    results: list[RecommendationResult]
    sections: dict[str, str]
    notes: list[str] = field(default_factory=list)
    facts_source: str = "live"
    baseline: Optional[Any] = None  # a bench.baseline.Comparison when --baseline was given
    checks: dict[str, CheckInfo] = field(default_factory=dict)   # the checks behind the results
    # What the daemon view worked out about the daemon itself: which one, how it was found, where
    # its files disagree with it.
    daemon_findings: list[str] = field(default_factory=list)
    daemon_disagreements: list[str] = field(default_factory=list)   # those of them that are a disagreement
    profile_edition: str = ""
    profile_labels: str = "scored"    # scored (1.11.0) or assessment (Automated/Manual)
    profile_reason: str = ""          # why this edition (--profile auto)
    hint: str = ""                    # a line for the reader: an edition that matches the engine better
    duration_seconds: Optional[float] = None   # how long the audit took, where it was measured
    waivers: Optional[Any] = None     # a bench.waivers.WaiverOutcome when --waivers was given

    def summary(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for result in self.results:
            counts[result.status.value] += 1
        return counts

    def score(self, label: Optional[str] = None) -> tuple[int, int]:
        """Scored recommendations that pass, out of those that were judged (PASS or FAIL or ERROR,
        or a FAIL that was waived: accepting a violation does not make it a pass); with `label`,
        only those the edition labels so ("Automated")."""
        judged = [r for r in self.results if r.scored and r.status in (Status.PASS, Status.FAIL, Status.ERROR, Status.WAIVED)
                  and (label is None or r.label == label)]
        return sum(1 for r in judged if r.status == Status.PASS), len(judged)
