"""One self-contained HTML file, for a person opening a cron mail's attachment or a CI artifact.

The page is rendered by Jinja2 templates (bench/reporters/templates/) with autoescaping on: every
string from the host is text, never markup. Host-controlled strings are also made printable, as in
the text report, so control and bidi characters cannot disguise a name. The style sheet and the
filter script are inlined and pinned by a Content-Security-Policy of their hashes: the page loads
nothing, and runs no script but its own. Each recommendation and resource carries its verdict in
data attributes (data-id, data-status, data-label, data-resource), for tests and for scripts that
read the page. The top of the page says what the JSON report says of the audit as a whole: the
edition and how it labels recommendations (and why --profile auto chose it), the score and, for an
edition labelled Automated/Manual, the score over the Automated ones, the hint when the engine is
far newer than the edition, and, in a section of their own, the daemon findings (which daemon, how
it was found, where its files disagree with it).
"""
from __future__ import annotations

import base64
import functools
import hashlib
from importlib import resources
from typing import Any

from bench import TOOL_NAME, __version__
from bench.reporters.verdicts import KINDS, PLURAL, resource_kind, verdicts
from bench.results import RecommendationResult, Report
from bench.sanitize import printable
from bench.status import FINDINGS, Status

STATUSES = [s.value for s in Status]
FINDING_NAMES = tuple(s.value for s in FINDINGS)
ATTENTION = FINDING_NAMES + ("INFO",)   # resources listed open; those that pass or were skipped are folded


@functools.lru_cache(maxsize=None)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("bench.reporters", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@functools.lru_cache(maxsize=None)
def asset(name: str) -> tuple[str, str]:
    """A style sheet or script shipped beside the templates, and its CSP hash source."""
    text = resources.files("bench.reporters").joinpath("templates", name).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"'sha256-{digest}'"


def page(template: str, **context: Any) -> str:
    import markupsafe

    style, style_hash = asset("report.css")
    script, script_hash = asset("report.js")
    csp = (f"default-src 'none'; style-src {style_hash}; script-src {script_hash}; img-src 'none'; "
           "base-uri 'none'; form-action 'none'")
    return _environment().get_template(template).render(
        csp=csp, style=markupsafe.Markup(style), script=markupsafe.Markup(script), statuses=STATUSES,
        generator=f"{TOOL_NAME} {__version__}", **context) + "\n"


def bars(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Segments of a stacked bar 100 units long, one per status with a count."""
    total = sum(counts.values()) or 1
    segments, x = [], 0.0
    for status in STATUSES:
        if counts.get(status):
            width = 100.0 * counts[status] / total
            segments.append({"status": status, "count": counts[status], "x": round(x, 3), "width": round(width, 3)})
            x += width
    return segments


def _recommendation(result: RecommendationResult, baseline: Any) -> dict[str, Any]:
    groups: dict[str, list[dict[str, str]]] = {}
    for item in result.items:
        change = baseline.change_of(result.id, item.resource) if baseline is not None and \
            item.status in FINDINGS else ""
        groups.setdefault(resource_kind(result, item.resource), []).append(
            {"resource": printable(item.resource), "status": item.status.value, "detail": printable(item.detail),
             "change": change})
    kinds = []
    for kind in KINDS:
        if kind in groups:
            items = groups[kind]
            kinds.append({"name": PLURAL[kind], "flagged": [i for i in items if i["status"] in ATTENTION],
                          "quiet": [i for i in items if i["status"] not in ATTENTION], "count": len(items)})
    return {
        "id": result.id, "section": result.section, "title": printable(result.title), "level": result.level,
        "scored": result.scored, "label": printable(result.label or ("scored" if result.scored else "not scored")),
        "automation": result.automation, "status": result.status.value,
        "details": printable(result.details), "remediation": printable(result.remediation),
        "checks": list(result.checks), "kinds": kinds,
        # The recommendation has a verdict of its own beside its resources' (see verdicts.py).
        "own_verdict": any(v.resource == "" for v in verdicts(result)),
    }


def render_html(report: Report, **_: Any) -> str:
    passed, judged = report.score()
    automated = report.score("Automated") if report.profile_labels == "assessment" else None
    sections = []
    for section, title in report.sections.items():
        results = [r for r in report.results if r.section == section]
        if results:
            counts = {s: sum(1 for r in results if r.status.value == s) for s in STATUSES}
            sections.append({"id": section, "title": printable(title), "counts": counts, "bars": bars(counts),
                             "recommendations": [_recommendation(r, report.baseline) for r in results]})
    baseline = None
    if report.baseline is not None:
        baseline = {"source": printable(report.baseline.source), **report.baseline.counts(),
                    "fixed": [(i, printable(r), s) for i, r, s in report.baseline.fixed]}
    return page(
        "report.html.j2", report=report, hostname=printable(report.hostname),
        docker_version=printable(report.docker_version or "unknown"), profile_title=printable(report.profile_title),
        facts_source=printable(report.facts_source), summary=report.summary(), passed=passed, judged=judged,
        percent=(100 * passed // judged) if judged else None, sections=sections,
        levels=sorted({r.level for r in report.results}), notes=[printable(n) for n in report.notes],
        baseline=baseline, automated=automated, edition=printable(report.profile_edition),
        assessment=report.profile_labels == "assessment", chosen_because=printable(report.profile_reason),
        hint=printable(report.hint), daemon_findings=[printable(f) for f in report.daemon_findings])


def render_fleet_html(fleet: Any, **_: Any) -> str:
    """A bench.merge.Fleet: each host's counts and score, and the recommendations failing on the most hosts
    (each with its edition when the hosts were audited against more than one)."""
    from bench.merge import editions_line, ranking

    hosts = [{"hostname": printable(h.hostname), "docker_version": printable(h.docker_version),
              "profile": printable(h.profile), "started_at": printable(h.started_at), "summary": h.summary,
              "score": h.score, "automated": h.automated, "bars": bars(h.summary)} for h in fleet.hosts]
    ranked = [{"id": printable(rec_id), "title": printable(rec["title"]), "edition": printable(rec["edition"]),
               **{status: [printable(h) for h in rec[status]] for status in FINDING_NAMES}}
              for rec_id, rec in ranking(fleet)]
    unreachable = [{"hostname": printable(u.hostname), "reason": printable(u.reason), "at": printable(u.at)}
                   for u in getattr(fleet, "unreachable", [])]
    return page("fleet.html.j2", hosts=hosts, ranked=ranked, unreachable=unreachable, mixed=fleet.mixed,
                editions_line=editions_line(fleet))
