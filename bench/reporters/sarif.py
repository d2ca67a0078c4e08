"""SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

One rule per recommendation (its title, a help text with the remediation, tags and a severity);
one result per finding: FAIL is level "error", WARN "warning". ERROR ("could not be judged") is a
result of its own level, "note", and is also listed as a tool execution notification: were it only
a notification, GitHub would close an open alert as fixed the first time the audit could not look.

Every result has a relative location GitHub accepts, with region line 1 (there is no line to point
at): a host file is its path without the leading slash (etc/docker/daemon.json); the rest are
pseudo-paths: docker/containers/NAME, docker/images/NAME, docker/daemon/CHECK (a daemon setting),
docker/host/CHECK (the host as a whole). Fingerprints are made of host, recommendation and resource,
so an alert is the same alert from run to run; automationDetails.id is one category per host, so
the reports of several hosts can be uploaded to one repository side by side.

Each rule carries the edition's label of its recommendation (cisLabel: Scored, Not Scored,
Automated, Manual) as a property and a tag. The run's properties carry what the JSON report says
of the audit as a whole: the profile (edition, labels, why --profile auto chose it), the score and,
for an edition labelled Automated/Manual, the score over the Automated ones, the hint when the
engine is far newer than the edition, and the daemon findings (which daemon, how it was found,
where its files disagree with it); each daemon finding is also a tool execution notification of
level "note", where viewers show a run's messages.
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from bench.reporters.json_report import profile_data, score_data, scrub
from bench.reporters.verdicts import Verdict, audit_seconds, fingerprint, severity, utc_text, verdicts
from bench.results import RecommendationResult, Report
from bench.sanitize import printable
from bench.status import Status

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Status.FAIL: "error", Status.WARN: "warning", Status.ERROR: "note"}
# GitHub: over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low.
SECURITY_SEVERITY = {"low": "3.0", "medium": "5.5", "high": "7.5"}
PRECISION = {"automated": "very-high", "partial": "high", "manual": "medium"}
FINGERPRINT = "dockerCisBenchFinding/v1"
PSEUDO = {"container": "docker/containers", "image": "docker/images", "swarm": "docker/swarm",
          "resource": "docker/resources"}


def _segment(text: str, safe: str = "") -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe=safe)


def artifact_uri(result: RecommendationResult, verdict: Verdict) -> str:
    if verdict.kind == "file":
        return _segment(verdict.resource.lstrip("/"), safe="/") or "docker/files/root"
    if verdict.kind in PSEUDO and verdict.resource:
        return f"{PSEUDO[verdict.kind]}/{_segment(verdict.resource)}"
    # A daemon setting, the swarm as a whole, or the host: the check that judged it.
    check = result.checks[0] if result.checks else result.id
    return f"docker/{verdict.kind if verdict.kind in ('daemon', 'swarm') else 'host'}/{_segment(check)}"


def message_text(text: str) -> str:
    """Plain text as SARIF viewers show it: printable, and with the brackets of SARIF's embedded
    links escaped, so a container called "[x](https://...)" is not shown as a link."""
    return re.sub(r"(\\*)([\[\]])", lambda m: m.group(1) * 2 + "\\" + m.group(2), printable(text))


def _rule(report: Report, result: RecommendationResult) -> dict[str, Any]:
    title = printable(result.title)
    where = f"recommendation {result.id} of {printable(report.profile_title)}" if result.section != "custom" \
        else "a check outside the profile"
    # The edition's own label (Scored, Not Scored; Automated, Manual; custom), else what the score makes of it.
    label = result.label or ("scored" if result.scored else "not scored")
    checks = ", ".join(result.checks)
    remediation = printable(result.remediation) or "See the recommendation's text in the benchmark."
    return {
        "id": result.id,
        "name": re.sub(r"[^A-Za-z0-9]", "", title.title())[:100] or "Check",
        "shortDescription": {"text": title},
        "fullDescription": {"text": f"{title}: {where} ({label}, level {result.level}, {result.automation})."},
        "help": {
            "text": f"{title}\n\nRemediation: {remediation}\n\nChecked by: {checks}.",
            "markdown": f"**{message_text(title)}**\n\n**Remediation:** {remediation}\n\nChecked by: `{checks}` "
                        f"({result.automation}; CIS {result.id}, {label}, level {result.level}).",
        },
        "defaultConfiguration": {"level": "error" if result.scored else "warning"},
        "properties": {
            "tags": ["security", "cis-docker", f"cis-section-{result.section}", f"cis-level-{result.level}",
                     label.lower()],
            "precision": PRECISION.get(result.automation, "high"),
            "security-severity": SECURITY_SEVERITY[severity(result)],
            "cisLabel": result.label,
            "scored": result.scored,
        },
    }


def _message(verdict: Verdict, title: str) -> str:
    subject = f"{verdict.kind} {verdict.resource}: " if verdict.resource else ""
    text = verdict.detail or title
    if verdict.status == Status.ERROR:
        text = f"could not be judged: {text}"
    return message_text(subject + text)


def _result(report: Report, result: RecommendationResult, index: int, verdict: Verdict) -> dict[str, Any]:
    found = {
        "ruleId": result.id,
        "ruleIndex": index,
        # A waived violation is still a violation, suppressed: SARIF's own way to say "accepted".
        "level": "warning" if verdict.is_waived else LEVELS[verdict.status],
        "message": {"text": _message(verdict, result.title)},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(result, verdict)},
                                            "region": {"startLine": 1}}}],
        "partialFingerprints": {FINGERPRINT: fingerprint(report.hostname, result.id, verdict.resource)},
        "properties": {"status": verdict.status.value, "resource": verdict.resource, "resourceKind": verdict.kind},
    }
    if verdict.is_waived:
        found["suppressions"] = [{"kind": "external", "status": "accepted",
                                  "justification": message_text(verdict.waiver.describe())}]
    if report.baseline is not None:   # --baseline: SARIF's own words for it, "new" or "unchanged"
        found["baselineState"] = report.baseline.change_of(result.id, verdict.resource)
    return found


def sarif_log(report: Report) -> dict[str, Any]:
    rules, results, notifications = [], [], []
    for index, result in enumerate(report.results):
        rules.append(_rule(report, result))
        for verdict in verdicts(result):
            if verdict.is_finding or verdict.is_waived:
                results.append(_result(report, result, index, verdict))
        if result.status == Status.ERROR:
            text = message_text(f"{result.id} could not be judged: {result.details}")
            notifications.append({"level": "error", "associatedRule": {"id": result.id, "index": index},
                                  "message": {"text": text}})
    # What the report says about the daemon itself (which one, how it was found, where its files
    # disagree with it): notes of the run, not tied to a rule.
    notifications += [{"level": "note", "message": {"text": message_text(f"Daemon: {finding}")}}
                      for finding in report.daemon_findings]
    invocation = {"executionSuccessful": True, "startTimeUtc": utc_text(report.started_at),
                  "endTimeUtc": utc_text(report.finished_at), "machine": printable(report.hostname)}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    host = re.sub(r"[^A-Za-z0-9._-]", "_", printable(report.hostname))[:100] or "unknown"
    run = {
        "tool": {"driver": {"name": report.tool_name, "version": report.tool_version,
                            "semanticVersion": report.tool_version, "rules": rules}},
        "automationDetails": {"id": f"{report.tool_name}/{host}/"},
        "invocations": [invocation],
        "results": results,
        "properties": {"profile": report.profile_id, "hostname": report.hostname,
                       "dockerVersion": report.docker_version, "startedAt": report.started_at,
                       "auditSeconds": round(audit_seconds(report), 3),
                       # As in the JSON report: the edition, its labels, why it was chosen; the score(s).
                       "profileInfo": profile_data(report), "score": score_data(report),
                       "daemonFindings": list(report.daemon_findings)},
    }
    if report.hint:
        run["properties"]["hint"] = report.hint
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render_sarif(report: Report, **_: Any) -> str:
    return json.dumps(scrub(sarif_log(report)), indent=2, ensure_ascii=False) + "\n"
