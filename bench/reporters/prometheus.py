"""Prometheus text exposition, for node_exporter's textfile collector (an audit from cron writes a
.prom file into the collector's directory).

Per recommendation, one series `docker_cis_bench_recommendation_status` (value 1) whose labels say
which it is (id, section, level, scored, title) and its status; the resources judged under it
counted by status. Then the count of recommendations per status, the score, when the audit ran and
how long it took. Resource names are not labels: container names come and go, and each would be a
series of its own.

A merged fleet report (`merge --format prometheus`) gives the same per host (a `host` label) and,
per recommendation, on how many hosts it fails, errs or warns.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from bench.reporters.verdicts import audit_seconds, epoch_seconds
from bench.results import Report
from bench.sanitize import printable
from bench.status import FINDINGS, Status

PREFIX = "docker_cis_bench_"
Sample = tuple[dict[str, str], float]


def label_value(value: object) -> str:
    """Printable (no control characters reach a scraper), then escaped as the format asks."""
    return printable(value, limit=500).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def metric(name: str, help_text: str, samples: Iterable[Sample]) -> list[str]:
    """One gauge family; nothing at all when it has no samples."""
    lines = []
    for labels, value in samples:
        text = ",".join(f'{key}="{label_value(val)}"' for key, val in labels.items())
        lines.append(f"{PREFIX}{name}{{{text}}} {_number(value)}" if text else f"{PREFIX}{name} {_number(value)}")
    return [f"# HELP {PREFIX}{name} {help_text}", f"# TYPE {PREFIX}{name} gauge", *lines] if lines else []


Scores = list[tuple[dict[str, str], dict[str, int], dict[str, int]]]   # (labels, summary, score)


def score_metrics(entries: Scores) -> list[list[str]]:
    return [
        metric("recommendations", "Recommendations audited, by status.",
               [({**labels, "status": s.value}, summary.get(s.value, 0)) for labels, summary, _ in entries
                for s in Status]),
        metric("score_passed_recommendations", "Scored recommendations that pass.",
               [(labels, score.get("passed", 0)) for labels, _, score in entries]),
        metric("score_judged_recommendations", "Scored recommendations judged PASS, FAIL or ERROR.",
               [(labels, score.get("judged", 0)) for labels, _, score in entries]),
        metric("score_ratio", "Scored recommendations that pass, of those judged.",
               [(labels, score["passed"] / score["judged"]) for labels, _, score in entries if score.get("judged")]),
    ]


def _text(families: list[list[str]]) -> str:
    return "\n".join(line for family in families for line in family) + "\n"


def render_prometheus(report: Report, **_: Any) -> str:
    statuses, resources = [], []
    for result in report.results:
        labels = {"id": result.id, "section": result.section, "level": str(result.level),
                  "scored": "true" if result.scored else "false", "title": result.title}
        statuses.append(({**labels, "status": result.status.value}, 1))
        counts: dict[str, int] = {}
        for item in result.items:
            counts[item.status.value] = counts.get(item.status.value, 0) + 1
        resources += [({"id": result.id, "status": s.value}, counts[s.value]) for s in Status if s.value in counts]
    passed, judged = report.score()
    families = [
        metric("recommendation_status", "A CIS recommendation and its status (the status label); always 1.", statuses),
        metric("recommendation_resources", "Resources (containers, files) judged under a recommendation, by status.",
               resources),
        *score_metrics([({}, report.summary(), {"passed": passed, "judged": judged})]),
        metric("audit_timestamp_seconds", "When the audit finished, in seconds since the Unix epoch.",
               [({}, epoch_seconds(report.finished_at))]),
        metric("audit_duration_seconds", "How long the audit took.", [({}, round(audit_seconds(report), 3))]),
        metric("report_info", "The audit's tool, profile and Docker version; always 1.",
               [({"tool_version": report.tool_version, "profile": report.profile_id,
                  "docker_version": report.docker_version or "unknown", "hostname": report.hostname}, 1)]),
    ]
    return _text(families)


def render_fleet_prometheus(fleet: Any, **_: Any) -> str:
    """A bench.merge.Fleet: per host its counts, score and audit time; per recommendation the hosts
    on which it fails, errs or warns."""
    hosts = [{"host": h.hostname} for h in fleet.hosts]
    spread = [({"id": rec_id, "title": rec["title"], "status": status}, len(rec[status]))
              for rec_id, rec in fleet.recommendations.items() for status in (s.value for s in FINDINGS)
              if rec[status]]
    return _text([
        metric("fleet_hosts", "Hosts in the merged reports.", [({}, len(fleet.hosts))]),
        *score_metrics([(labels, h.summary, h.score) for labels, h in zip(hosts, fleet.hosts)]),
        metric("audit_timestamp_seconds", "When each host's audit started, in seconds since the Unix epoch.",
               [(labels, epoch_seconds(h.started_at)) for labels, h in zip(hosts, fleet.hosts)]),
        metric("fleet_recommendation_hosts", "Hosts on which a recommendation fails, errs or warns.", spread),
    ])
