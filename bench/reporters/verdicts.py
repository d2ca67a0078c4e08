"""What the formats other tools read (SARIF, OCSF, Prometheus, HTML) say about a recommendation,
worked out once: its verdict per resource, what kind of resource that is, a fingerprint that stays
the same from run to run, and a severity.

A recommendation judged per resource (containers, files) has one verdict per resource. It has a
verdict of its own (resource "", the host as a whole) when it has no resources, or when its status
is not the worst of its resources' (a part of it could not be judged per resource): so every
format carries every verdict of the JSON report, and nothing twice.
"""
from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from typing import Any, Optional

from bench.results import RecommendationResult, Report
from bench.status import FINDINGS, Status, worst

# What a resource is, from the shape of its name and the checks that judged it. Check ids start
# with what they judge (container-*, file-*, daemon-*, swarm-*), whatever benchmark numbers them.
KINDS = ("container", "image", "file", "daemon", "swarm", "host", "resource")
PLURAL = {"container": "containers", "image": "images", "file": "files", "daemon": "daemon settings",
          "swarm": "swarm objects", "host": "hosts", "resource": "resources"}
_PREFIXES = (("container", ("container-", "exec-")), ("image", ("image-", "images-")),
             ("daemon", ("daemon-", "engine-")), ("swarm", ("swarm-",)))
# Kinds whose verdict without a resource is about that part of the host (a daemon setting, the
# swarm's configuration) rather than the host as a whole.
_WHOLE = ("daemon", "swarm")
SEVERITIES = ("low", "medium", "high")


@dataclass(frozen=True)
class Verdict:
    rec_id: str
    resource: str       # "" for the recommendation on the host as a whole
    kind: str           # one of KINDS
    status: Status
    detail: str
    waiver: Optional[Any] = None    # the bench.waivers.Waiver that accepted it (status WAIVED)

    @property
    def is_finding(self) -> bool:
        return self.status in FINDINGS

    @property
    def is_waived(self) -> bool:
        return self.status == Status.WAIVED and self.waiver is not None


def _checked_kind(result: RecommendationResult) -> str:
    for kind, prefixes in _PREFIXES:
        if any(check.startswith(prefixes) for check in result.checks):
            return kind
    return ""


def resource_kind(result: RecommendationResult, resource: str) -> str:
    if resource.startswith("/"):
        return "file"
    kind = _checked_kind(result)
    if not resource:
        return kind if kind in _WHOLE else "host"
    return kind or "resource"


def verdicts(result: RecommendationResult) -> list[Verdict]:
    own = [Verdict(result.id, i.resource, resource_kind(result, i.resource), i.status, i.detail, i.waiver)
           for i in result.items]
    if not result.items or result.status != worst(i.status for i in result.items):
        waiver = result.waivers[0] if result.status == Status.WAIVED and result.waivers else None
        own.insert(0, Verdict(result.id, "", resource_kind(result, ""), result.status, result.details, waiver))
    return own


def fingerprint(hostname: str, rec_id: str, resource: str) -> str:
    """The same host, recommendation and resource give the same value in every run."""
    text = "\0".join((hostname, rec_id, resource))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def severity(result: RecommendationResult) -> str:
    """CIS gives no severities. Like OCSF's own mapping of CIS levels: level 1 medium, level 2
    high; a recommendation the benchmark does not score is advice: low."""
    if not result.scored:
        return "low"
    return "high" if result.level >= 2 else "medium"


def epoch_seconds(iso: str) -> float:
    try:
        moment = datetime.datetime.fromisoformat(iso)
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def audit_seconds(report: Report) -> float:
    """How long the audit took: measured by the CLI, else from its (whole-second) timestamps."""
    if report.duration_seconds is not None:
        return report.duration_seconds
    return max(0.0, epoch_seconds(report.finished_at) - epoch_seconds(report.started_at))


def utc_text(iso: str) -> str:
    """ISO 8601 in UTC with a Z, the form SARIF asks for."""
    moment = datetime.datetime.fromtimestamp(epoch_seconds(iso), datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
