"""Prometheus text exposition, for node_exporter's textfile collector (an audit from cron writes a
.prom file into the collector's directory).

Per recommendation, one series `docker_cis_bench_recommendation_status` (value 1) whose labels say
which it is (id, section, level, scored, the edition's label, title) and its status; the resources
judged under it counted by status. Then the count of recommendations per status, the score (and,
for an edition labelled Automated/Manual, the score over the Automated ones), when the audit ran,
how long it took, how many lines the report says about the daemon, and an info series with the
profile's edition. Resource names are not labels: container names come and go, and each would be a
series of its own.

A merged fleet report (`merge --format prometheus`) gives the same per host (a `host` label) and,
per recommendation, on how many hosts it fails, errs or warns (with an `edition` label when the
hosts were audited against more than one edition).
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from bench.reporters.json_report import score_data
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


Scores = list[tuple[dict[str, str], dict[str, int], dict[str, Any]]]   # (labels, summary, score)


def score_metrics(entries: Scores) -> list[list[str]]:
    """Counts per status and the score; for an edition labelled Automated/Manual (a score with
    "automated"), the score over the Automated recommendations too."""
    automated = [(labels, score["automated"]) for labels, _, score in entries if score.get("automated")]
    return [
        metric("recommendations", "Recommendations audited, by status.",
               [({**labels, "status": s.value}, summary.get(s.value, 0)) for labels, summary, _ in entries
                for s in Status]),
        metric("score_passed_recommendations",
               "Recommendations the score counts (1.11.0: the Scored ones; later editions: all) that pass.",
               [(labels, score.get("passed", 0)) for labels, _, score in entries]),
        metric("score_judged_recommendations", "Recommendations the score counts judged PASS, FAIL or ERROR.",
               [(labels, score.get("judged", 0)) for labels, _, score in entries]),
        metric("score_ratio", "Recommendations the score counts that pass, of those judged.",
               [(labels, score["passed"] / score["judged"]) for labels, _, score in entries if score.get("judged")]),
        metric("score_automated_passed_recommendations",
               "Recommendations the edition labels Automated that pass (editions labelled Automated/Manual).",
               [(labels, score.get("passed", 0)) for labels, score in automated]),
        metric("score_automated_judged_recommendations",
               "Recommendations the edition labels Automated judged PASS, FAIL or ERROR.",
               [(labels, score.get("judged", 0)) for labels, score in automated]),
        metric("score_automated_ratio", "Recommendations the edition labels Automated that pass, of those judged.",
               [(labels, score["passed"] / score["judged"]) for labels, score in automated if score.get("judged")]),
    ]


def _text(families: list[list[str]]) -> str:
    return "\n".join(line for family in families for line in family) + "\n"


def render_prometheus(report: Report, **_: Any) -> str:
    statuses, resources = [], []
    for result in report.results:
        labels = {"id": result.id, "section": result.section, "level": str(result.level),
                  "scored": "true" if result.scored else "false", "label": result.label, "title": result.title}
        statuses.append(({**labels, "status": result.status.value}, 1))
        counts: dict[str, int] = {}
        for item in result.items:
            counts[item.status.value] = counts.get(item.status.value, 0) + 1
        resources += [({"id": result.id, "status": s.value}, counts[s.value]) for s in Status if s.value in counts]
    families = [
        metric("recommendation_status", "A CIS recommendation and its status (the status label); always 1.", statuses),
        metric("recommendation_resources", "Resources (containers, files) judged under a recommendation, by status.",
               resources),
        *score_metrics([({}, report.summary(), score_data(report))]),
        metric("audit_timestamp_seconds", "When the audit finished, in seconds since the Unix epoch.",
               [({}, epoch_seconds(report.finished_at))]),
        metric("audit_duration_seconds", "How long the audit took.", [({}, round(audit_seconds(report), 3))]),
        metric("daemon_findings", "What the report says about the daemon: which one, how it was found, where "
               "its files disagree with it (lines).", [({}, len(report.daemon_findings))]),
        metric("daemon_disagreements", "Daemon settings whose flags or daemon.json say otherwise than the running "
               "daemon reports: changed, not yet applied.", [({}, len(report.daemon_disagreements))]),
        metric("report_info", "The audit's tool, profile (edition, labels) and Docker version; always 1.",
               [({"tool_version": report.tool_version, "profile": report.profile_id,
                  "edition": report.profile_edition, "labels": report.profile_labels,
                  "docker_version": report.docker_version or "unknown", "hostname": report.hostname}, 1)]),
    ]
    return _text(families)


def render_fleet_prometheus(fleet: Any, **_: Any) -> str:
    """A bench.merge.Fleet: per host its counts, score and audit time; per recommendation the hosts
    on which it fails, errs or warns."""
    hosts = [{"host": h.hostname} for h in fleet.hosts]
    # Ids are an edition's own numbering: in a fleet of several editions, the edition tells which
    # recommendation a series counts (one fleet of one edition keeps its series as they were).
    mixed = fleet.mixed
    spread = [({**({"edition": rec["edition"]} if mixed else {}), "id": rec_id, "title": rec["title"],
                "status": status}, len(rec[status]))
              for (_, rec_id), rec in fleet.recommendations.items() for status in (s.value for s in FINDINGS)
              if rec[status]]
    return _text([
        metric("fleet_hosts", "Hosts in the merged reports.", [({}, len(fleet.hosts))]),
        # A host that could not be audited must not vanish from a dashboard: 1 for each.
        metric("fleet_host_unreachable", "Hosts whose audit could not run (a marker instead of a report).",
               [({"host": u.hostname}, 1) for u in getattr(fleet, "unreachable", [])]),
        *score_metrics([(labels, h.summary, {**h.score, "automated": h.automated})
                        for labels, h in zip(hosts, fleet.hosts)]),
        metric("audit_timestamp_seconds", "When each host's audit started, in seconds since the Unix epoch.",
               [(labels, epoch_seconds(h.started_at)) for labels, h in zip(hosts, fleet.hosts)]),
        metric("fleet_recommendation_hosts", "Hosts on which a recommendation fails, errs or warns.", spread),
    ])
