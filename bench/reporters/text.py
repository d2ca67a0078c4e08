"""The human report: a table per section, offending resources under their recommendation, totals
and a score. Host-controlled text is made printable before the tool adds its own colours."""
from __future__ import annotations

from typing import Any

from tabulate import tabulate

from bench.results import RecommendationResult, Report
from bench.sanitize import printable
from bench.status import Status

COLOURS = {Status.PASS: "32", Status.FAIL: "31", Status.WARN: "33", Status.INFO: "36", Status.SKIP: "90",
           Status.ERROR: "35"}
MAX_ITEMS = 25
TITLE_WIDTH = 60
DETAIL_WIDTH = 90


def _paint(status: Status, colour: bool) -> str:
    return f"\x1b[{COLOURS[status]}m{status.value}\x1b[0m" if colour else status.value


def _clip(text: str, width: int) -> str:
    text = printable(text)
    return text if len(text) <= width else text[: width - 3] + "..."


def _rows(result: RecommendationResult, colour: bool, remediation: bool, wide: bool,
          baseline: Any = None) -> list[list[str]]:
    title_width, detail_width = (10_000, 10_000) if wide else (TITLE_WIDTH, DETAIL_WIDTH)
    flagged = [i for i in result.items if i.status != Status.PASS]
    uniform = len({(i.status, i.detail) for i in result.items}) <= 1  # the summary already says it all
    rows = [[result.id, _paint(result.status, colour), _clip(result.title, title_width),
             _clip(result.details, detail_width)]]
    if flagged and len(result.items) > 1 and uniform:
        if flagged[0].status != Status.SKIP:
            names = ", ".join(printable(i.resource) for i in flagged)
            rows.append(["", _paint(flagged[0].status, colour), _clip("  " + names, title_width + detail_width), ""])
    elif flagged and len(result.items) > 1:
        for item in flagged[:MAX_ITEMS]:
            mark = "NEW " if baseline is not None and baseline.change_of(result.id, item.resource) == "new" else ""
            rows.append(["", _paint(item.status, colour), _clip("  " + mark + item.resource, title_width),
                         _clip(item.detail, detail_width)])
        if len(flagged) > MAX_ITEMS:
            rows.append(["", "", f"  ... and {len(flagged) - MAX_ITEMS} more", "(all of them are in --format json)"])
    if remediation and result.status in (Status.FAIL, Status.WARN) and result.remediation:
        rows.append(["", "", "  remediation:", _clip(result.remediation, 10_000 if wide else 200)])
    return rows


def render_text(report: Report, *, colour: bool = False, remediation: bool = False, quiet: bool = False,
                wide: bool = False, **_: Any) -> str:
    summary = report.summary()
    passed, judged = report.score()
    totals = "  ".join(f"{_paint(s, colour)} {summary[s.value]}" for s in Status)
    score_line = score_text(report)
    change_line = ""
    if report.baseline is not None and report.baseline.first_run:
        change_line = (f"No baseline: {printable(report.baseline.source)} does not exist yet (first run); "
                       f"all {len(report.baseline.new)} findings are new")
    elif report.baseline is not None:
        counts = report.baseline.counts()
        change_line = (f"Since {printable(report.baseline.source)}: {counts['new']} new, "
                       f"{counts['unchanged']} unchanged, {counts['fixed']} fixed")
    if quiet:
        return summary_line(report)

    out = [f"{report.tool_name} {report.tool_version}  {report.profile_title}",
           f"Host {printable(report.hostname)}, Docker {printable(report.docker_version or 'unknown')}, "
           f"started {report.started_at}" + ("" if report.facts_source == "live" else f", from {printable(report.facts_source)}")]
    if report.profile_reason:
        out.append(f"Edition: {printable(report.profile_id)}, chosen as {printable(report.profile_reason)}")
    out += [f"Daemon: {printable(finding)}" for finding in report.daemon_findings]
    out.append("")
    for section, title in report.sections.items():
        results = [r for r in report.results if r.section == section]
        if not results:
            continue
        rows: list[list[str]] = []
        for result in results:
            rows += _rows(result, colour, remediation, wide, report.baseline)
        out.append(f"[{section}] {title}")
        out.append(tabulate(rows, headers=["ID", "Status", "Recommendation", "Details"], tablefmt="simple",
                            disable_numparse=True))
        out.append("")
    out.append(f"Totals: {totals}  ({len(report.results)} recommendations)")
    out.append(score_line)
    if change_line:
        out.append(change_line)
        for rec_id, resource, status in report.baseline.fixed[:MAX_ITEMS]:
            out.append(f"  fixed: {rec_id} {printable(resource)} (was {status})".rstrip())
    if report.hint:
        out.append(printable(report.hint))
    if report.notes:
        out.append("")
        out.append("Notes:")
        out += [f"  - {printable(note)}" for note in report.notes]
    return "\n".join(out) + "\n"


def score_text(report: Report) -> str:
    """The score, and how it counts: by the edition's Scored flag (1.11.0), or every recommendation
    the facts decide whatever its Automated/Manual label (later editions), and the Automated ones."""
    passed, judged = report.score()
    percent = f" ({100 * passed // judged}%)" if judged else ""
    if report.profile_labels != "assessment":
        return f"Score: {passed} of {judged} judged scored recommendations pass{percent}"
    auto_passed, auto_judged = report.score("Automated")
    return (f"Score: {passed} of {judged} judged recommendations pass{percent}, whatever the edition's "
            f"Automated/Manual label; of those it labels Automated: {auto_passed} of {auto_judged}")


def summary_line(report: Report) -> str:
    """One line for cron mail and CI logs."""
    summary = report.summary()
    passed, judged = report.score()
    counts = ", ".join(f"{summary[s.value]} {s.value}" for s in Status if summary[s.value])
    text = f"{printable(report.hostname)}: {counts}; score {passed}/{judged}"
    if report.baseline is not None and report.baseline.first_run:
        text += f"; first run, no baseline {printable(report.baseline.source)} yet: {len(report.baseline.new)} new"
    elif report.baseline is not None:
        c = report.baseline.counts()
        text += f"; {c['new']} new, {c['fixed']} fixed since {printable(report.baseline.source)}"
    return text + "\n"
