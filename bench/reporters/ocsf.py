"""OCSF 1.8.0 Compliance Findings (class 2003), one per recommendation and resource, as JSON Lines.

Each line is one finding: the benchmark is the standard (compliance.standards), the recommendation
the control (compliance.control), the check behind it in compliance.checks; the resource is a
container, file, image, daemon setting or the host itself; remediation.desc says what to do.
Our status is compliance.status_code (PASS, FAIL, WARN, INFO, SKIP, ERROR) and maps onto OCSF's
compliance.status_id: PASS 1 Pass, FAIL 3 Fail, ERROR 2 Warning (OCSF: "did not yield a result due
to missing information"), WARN, INFO and SKIP 99 Other. The finding's own status_id is 1 New for
what needs attention (FAIL, WARN, ERROR, INFO), 4 Resolved for PASS, 99 Other for SKIP.
finding_info.uid is the same for the same host, recommendation and resource in every run.
metadata.labels holds the edition's label of the recommendation (Scored, Not Scored, Automated,
Manual). What OCSF has no field for is in `unmapped`, the same on every line: the profile (edition,
labels, why --profile auto chose it), the score and, for an edition labelled Automated/Manual, the
score over the Automated ones, the hint when the engine is far newer than the edition, and the
daemon findings (which daemon, how it was found, where its files disagree with it).
"""
from __future__ import annotations

import json
from typing import Any

from bench.reporters.json_report import profile_data, score_data, scrub
from bench.reporters.verdicts import Verdict, epoch_seconds, fingerprint, severity, verdicts
from bench.results import RecommendationResult, Report
from bench.status import Status

OCSF_VERSION = "1.8.0"
CLASS_UID, CATEGORY_UID, ACTIVITY_CREATE = 2003, 2, 1
COMPLIANCE_STATUS = {Status.PASS: (1, "Pass"), Status.FAIL: (3, "Fail"), Status.ERROR: (2, "Warning"),
                     Status.WAIVED: (3, "Fail")}
# A waived violation still fails its control; the finding is Suppressed, OCSF's word for accepted.
FINDING_STATUS = {Status.PASS: (4, "Resolved"), Status.SKIP: (99, "Not applicable"), Status.WAIVED: (3, "Suppressed")}
SEVERITY_IDS = {"low": (2, "Low"), "medium": (3, "Medium"), "high": (4, "High")}
INFORMATIONAL = (1, "Informational")
# OCSF's check.severity_id names the CIS levels: Level 1 is 3 Medium, Level 2 is 4 High.
CIS_LEVEL_SEVERITY = {1: 3, 2: 4}
RESOURCE_TYPES = {"container": "Docker Container", "image": "Docker Image", "file": "File",
                  "daemon": "Docker Daemon", "swarm": "Docker Swarm", "host": "Docker Host",
                  "resource": "Docker Resource"}


def _ms(iso: str) -> int:
    return int(epoch_seconds(iso) * 1000)


def _compliance_status(status: Status) -> tuple[int, str]:
    return COMPLIANCE_STATUS.get(status, (99, status.value))


def _finding(report: Report, result: RecommendationResult, verdict: Verdict, audit: dict[str, Any]) -> dict[str, Any]:
    status_id, status_caption = _compliance_status(verdict.status)
    work_id, work_caption = FINDING_STATUS.get(verdict.status, (1, "New"))
    serious = verdict.is_finding or verdict.is_waived
    severity_id, severity_caption = SEVERITY_IDS[severity(result)] if serious else INFORMATIONAL
    hostname = report.hostname or "unknown"
    uid = fingerprint(report.hostname, result.id, verdict.resource)
    subject = f"{verdict.kind} {verdict.resource}: " if verdict.resource else ""
    finding: dict[str, Any] = {
        "class_uid": CLASS_UID, "class_name": "Compliance Finding",
        "category_uid": CATEGORY_UID, "category_name": "Findings",
        "activity_id": ACTIVITY_CREATE, "activity_name": "Create",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE, "type_name": "Compliance Finding: Create",
        "time": _ms(report.finished_at), "start_time": _ms(report.started_at), "end_time": _ms(report.finished_at),
        "severity_id": severity_id, "severity": severity_caption,
        "status_id": work_id, "status": work_caption,
        "message": f"{subject}{verdict.detail or result.title}",
        "metadata": {
            "version": OCSF_VERSION,
            "uid": fingerprint(report.hostname, result.id, verdict.resource + "\0" + report.started_at),
            "product": {"name": report.tool_name, "vendor_name": report.tool_name, "version": report.tool_version},
        },
        "finding_info": {"uid": uid, "title": result.title, "desc": f"CIS {result.id}: {result.title}",
                         "types": [report.profile_title]},
        "compliance": {
            "standards": [report.profile_title], "control": result.id, "desc": result.title,
            "status_id": status_id, "status": status_caption, "status_code": verdict.status.value,
            "status_detail": verdict.detail,
            "checks": [{"uid": check, "name": check, "status_id": status_id, "status": status_caption,
                        "severity_id": CIS_LEVEL_SEVERITY.get(result.level, 0), "standards": [report.profile_title]}
                       for check in result.checks],
        },
        "resources": [{"name": verdict.resource or hostname, "type": RESOURCE_TYPES[verdict.kind],
                       "hostname": hostname}],
        "device": {"hostname": hostname, "name": hostname, "type_id": 0, "type": "Unknown"},
    }
    if verdict.is_waived:
        finding["status_detail"] = f"waived: {verdict.waiver.describe()}"
    if result.label:
        finding["metadata"]["labels"] = [result.label]
    if result.remediation:
        finding["remediation"] = {"desc": result.remediation}
    finding["unmapped"] = audit
    return finding


def audit_data(report: Report) -> dict[str, Any]:
    """What the JSON report says of the audit as a whole, which OCSF has no place for."""
    data: dict[str, Any] = {"profile": profile_data(report), "score": score_data(report),
                            "daemon_findings": list(report.daemon_findings)}
    if report.hint:
        data["hint"] = report.hint
    return data


def findings(report: Report) -> list[dict[str, Any]]:
    audit = audit_data(report)
    return [_finding(report, result, verdict, audit) for result in report.results for verdict in verdicts(result)]


def render_ocsf(report: Report, **_: Any) -> str:
    """JSON Lines: one Compliance Finding per line (nothing at all for an empty report)."""
    return "".join(json.dumps(scrub(f), ensure_ascii=False, separators=(",", ":")) + "\n" for f in findings(report))
