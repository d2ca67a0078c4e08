"""JUnit XML, shaped the way CI systems display it well: a testsuite per benchmark section, a
testcase per recommendation. FAIL is a failure, ERROR an error, SKIP, INFO and WAIVED are skipped
(a waived one with the waiver's reason as its message), WARN
passes with the finding in system-out (or fails, when the user asked WARN to fail).

Validates against Jenkins' junit-10.xsd. Names and classnames depend only on the profile and the
recommendation, so they are the same from run to run and CI can track a testcase over time.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from bench.results import RecommendationResult, Report
from bench.sanitize import xml_text
from bench.status import Status

MAX_ITEMS = 200


def _classname(profile_id: str, section: str) -> str:
    # Dots split classnames into packages in Jenkins; keep the profile one package, the section one class.
    return re.sub(r"[^A-Za-z0-9_-]", "_", profile_id) + ".section_" + re.sub(r"[^A-Za-z0-9_-]", "_", section)


def _resources(result: RecommendationResult, statuses: tuple[Status, ...]) -> list[str]:
    lines = [f"- {i.resource}: {i.status.value}" + (f" ({i.detail})" if i.detail else "")
             for i in result.items if i.status in statuses]
    if len(lines) > MAX_ITEMS:
        lines = lines[:MAX_ITEMS] + [f"... and {len(lines) - MAX_ITEMS} more"]
    return lines


def _body(result: RecommendationResult, statuses: tuple[Status, ...]) -> str:
    parts = []
    if result.details:
        parts.append(result.details)
    resources = _resources(result, statuses)
    if resources:
        parts.append("Resources:\n" + "\n".join(resources))
    if result.remediation and result.status in (Status.FAIL, Status.WARN):
        parts.append("Remediation: " + result.remediation)
    return "\n\n".join(parts)


def _testcase(report: Report, result: RecommendationResult, warn_fails: bool) -> tuple[ET.Element, str]:
    case = ET.Element("testcase", {
        "name": xml_text(f"{result.id} {result.title}"),
        "classname": _classname(report.profile_id, result.section),
        "time": "0",
    })
    status = result.status
    outcome = "passed"
    if status == Status.FAIL or (status == Status.WARN and warn_fails):
        child = ET.SubElement(case, "failure", {"type": status.value, "message": xml_text(result.details[:500])})
        child.text = xml_text(_body(result, (Status.FAIL, Status.WARN, Status.ERROR)))
        outcome = "failure"
    elif status == Status.ERROR:
        child = ET.SubElement(case, "error", {"type": "ERROR", "message": xml_text(result.details[:500])})
        child.text = xml_text(_body(result, (Status.ERROR,)))
        outcome = "error"
    elif status in (Status.SKIP, Status.INFO, Status.WAIVED):
        message = result.details
        if status == Status.WAIVED and result.waivers:
            message = "waived: " + "; ".join(w.describe() for w in result.waivers)
        child = ET.SubElement(case, "skipped", {"type": status.value, "message": xml_text(message[:500])})
        child.text = xml_text(_body(result, tuple(Status)))
        outcome = "skipped"
    if status in (Status.WARN, Status.PASS) and outcome == "passed":
        out = ET.SubElement(case, "system-out")
        out.text = xml_text(f"{status.value}: " + _body(result, (Status.WARN,)))
    return case, outcome


def render_junit(report: Report, *, warn_fails: bool = False, **_: Any) -> str:
    root = ET.Element("testsuites", {"name": xml_text(f"{report.tool_name} {report.profile_id}")})
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for section, title in report.sections.items():
        results = [r for r in report.results if r.section == section]
        if not results:
            continue
        suite = ET.SubElement(root, "testsuite", {"name": xml_text(f"{section} {title}")})
        counts = {"failure": 0, "error": 0, "skipped": 0}
        props = ET.SubElement(suite, "properties")
        for name, value in (("profile", report.profile_id), ("host", report.hostname),
                            ("docker_version", report.docker_version or "unknown")):
            ET.SubElement(props, "property", {"name": name, "value": xml_text(value)})
        for result in results:
            case, outcome = _testcase(report, result, warn_fails)
            suite.append(case)
            if outcome in counts:
                counts[outcome] += 1
        suite.set("tests", str(len(results)))
        suite.set("failures", str(counts["failure"]))
        suite.set("errors", str(counts["error"]))
        suite.set("skipped", str(counts["skipped"]))
        suite.set("time", "0")
        suite.set("timestamp", report.started_at)
        suite.set("hostname", xml_text(report.hostname))
        totals["tests"] += len(results)
        totals["failures"] += counts["failure"]
        totals["errors"] += counts["error"]
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
