"""The JSON report. Its shape is versioned (REPORT_SCHEMA_VERSION) and described by
report-schema.json beside this module; docs/json-report.md documents it for humans."""
from __future__ import annotations

import json
from json.encoder import encode_basestring  # type: ignore[attr-defined]  # the C function, when there is one
from typing import Any

from bench.results import RecommendationResult, Report
from bench.sanitize import json_text
from bench.status import FINDINGS, Status

REPORT_SCHEMA_VERSION = 1


def result_data(result: RecommendationResult, baseline: Any = None) -> dict[str, Any]:
    data = {
        "id": result.id,
        "section": result.section,
        "title": result.title,
        "scored": result.scored,
        "level": result.level,
        "automation": result.automation,
        "label": result.label,
        "status": result.status.value,
        "details": result.details,
        "remediation": result.remediation,
        "checks": list(result.checks),
        "items": [_item(i) for i in result.items],
    }
    if result.waivers:
        data["waivers"] = [waiver_data(w) for w in result.waivers]
    if result.expired_waivers:
        data["expired_waivers"] = [waiver_data(w) for w in result.expired_waivers]
    if baseline is not None:
        for item in data["items"]:
            if Status(item["status"]) in FINDINGS:
                item["change"] = baseline.change_of(result.id, item["resource"])
                if (result.id, item["resource"]) in baseline.worse:
                    item["previous_status"] = baseline.worse[(result.id, item["resource"])]
        if result.status in FINDINGS and not any("change" in i for i in data["items"]):
            data["change"] = baseline.change_of(result.id, "")
            if (result.id, "") in baseline.worse:
                data["previous_status"] = baseline.worse[(result.id, "")]
    return data


def _item(item: Any) -> dict[str, Any]:
    data = {"resource": item.resource, "status": item.status.value, "detail": item.detail}
    if item.waiver is not None:
        data["waiver"] = waiver_data(item.waiver)
    return data


def waiver_data(waiver: Any) -> dict[str, Any]:
    return {"id": waiver.id, "resource": waiver.resource, "justification": waiver.justification,
            "owner": waiver.owner, "expires": waiver.expires.isoformat(), "source": waiver.source}


def _waivers(outcome: Any) -> dict[str, Any]:
    return {
        "source": outcome.source, "date": outcome.today.isoformat(), **outcome.counts(),
        "expired": [dict(waiver_data(w), findings=len(found)) for w, found in outcome.expired.items()],
        "stale": [waiver_data(w) for w in outcome.stale],
        "not_in_edition": [waiver_data(w) for w in outcome.untranslated],
    }


def profile_data(report: Report) -> dict[str, Any]:
    """The profile audited against: id and title, its edition and how it labels recommendations,
    and with --profile auto why it was chosen (the other formats carry it too)."""
    data = {"id": report.profile_id, "title": report.profile_title}
    if report.profile_edition:
        data.update(edition=report.profile_edition, labels=report.profile_labels)
    if report.profile_reason:
        data["chosen_because"] = report.profile_reason
    return data


def score_data(report: Report) -> dict[str, Any]:
    """The score and, for an edition labelled Automated/Manual, the score over the Automated ones."""
    passed, judged = report.score()
    score: dict[str, Any] = {"passed": passed, "judged": judged}
    if report.profile_labels == "assessment":
        auto_passed, auto_judged = report.score("Automated")
        score["automated"] = {"passed": auto_passed, "judged": auto_judged}
    return score


def report_data(report: Report) -> dict[str, Any]:
    data = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": report.tool_name, "version": report.tool_version},
        "profile": profile_data(report),
        "host": {"hostname": report.hostname, "docker_version": report.docker_version},
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "facts_source": report.facts_source,
        "sections": dict(report.sections),
        "summary": report.summary(),
        "score": score_data(report),
        "notes": list(report.notes),
        "results": [result_data(r, report.baseline) for r in report.results],
    }
    if report.daemon_findings:
        data["daemon"] = {"findings": list(report.daemon_findings)}
        if report.daemon_disagreements:
            data["daemon"]["disagreements"] = list(report.daemon_disagreements)
    if report.checks:
        data["checks"] = {c.id: {"title": c.title, "description": c.description, "rationale": c.rationale,
                                 "references": list(c.references)} for c in report.checks.values()}
    if report.waivers is not None:
        data["waivers"] = _waivers(report.waivers)
    if report.baseline is not None:
        data["baseline"] = {
            "source": report.baseline.source, **report.baseline.counts(),
            "fixed_findings": [{"id": i, "resource": r, "status": s} for i, r, s in report.baseline.fixed],
        }
        if report.baseline.first_run:
            data["baseline"]["first_run"] = True
        if report.baseline.edition:
            data["baseline"].update(edition=report.baseline.edition, not_comparable=report.baseline.not_comparable)
    return data


def scrub(value: Any) -> Any:
    """Every string made encodable (lone surrogates escaped), keys included."""
    if isinstance(value, str):
        return json_text(value)
    if isinstance(value, dict):
        return {json_text(str(k)): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def _string(text: str) -> str:
    return encode_basestring(json_text(text))


def _emit(value: Any, newline: str, out: list[str]) -> None:
    """`value` as json.dumps(value, indent=2, ensure_ascii=False) writes it, every string made safe
    by json_text on the way. json's own indenting encoder is written in Python and walks the report
    through generators: on a report of 1,000 containers and 500 images (4 MB) it took a fifth of
    the audit's CPU; this writes the same text in about a third of the time."""
    if isinstance(value, str):
        out.append(_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(json.dumps(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            out.append(separator)
            out.append(_string(str(key)))
            out.append(": ")
            _emit(item, inner, out)
            separator = "," + inner
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _emit(item, inner, out)
            separator = "," + inner
        out.append(newline + "]")
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def render_json(report: Report, **_: Any) -> str:
    out: list[str] = []
    _emit(report_data(report), "\n", out)
    out.append("\n")
    return "".join(out)
