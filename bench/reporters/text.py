"""The human report, laid out to fit the terminal it is shown in (its width, or 100 columns).

A table per section: ID, status, the recommendation and its details. Wide enough, details get a
column of their own; narrower, they go under the title. Offending resources are summarised
("97 containers: a, b, c, … and 94 more"); `--details` (or `--wide`) lists each on a line of its
own. Text is wrapped at spaces; a word longer than its column is split over lines, never dropped;
where something is left out, the report says so. Host-controlled text is made printable before the
tool adds its own colours.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Optional

from bench.reporters.verdicts import PLURAL, resource_kind
from bench.results import Item, RecommendationResult, Report
from bench.sanitize import printable
from bench.status import SEVERITY, Status
from bench.waivers import waiver_lines

COLOURS = {Status.PASS: "32", Status.FAIL: "31", Status.WARN: "33", Status.INFO: "36", Status.SKIP: "90",
           Status.ERROR: "35", Status.WAIVED: "34"}
DEFAULT_WIDTH = 100
MIN_WIDTH = 40
GAP = "  "
STATUS_WIDTH = 6          # "Status", "ERROR"
MAX_ID_WIDTH = 12         # longer ids (custom checks) wrap
NAME_LINES = 2            # how many lines a summary of resource names may take
DETAIL_LINES = 4          # how many lines a detail may take before it is cut (not with --details)
MAX_GROUPS = 8            # groups of resources shown under a recommendation (not with --details)
CUT = " … [cut]"   # the footer says how to see it all
_STATUS_WORD = re.compile(r"\b(?:" + "|".join(s.value for s in Status) + r")\b")


def _cells(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def width_of(text: str) -> int:
    return sum(_cells(c) for c in text)


def _split_word(word: str, first: int, rest: int) -> list[str]:
    """A word too long for its line, in pieces: the first `first` cells wide, the others `rest`."""
    pieces, current, used, room = [], "", 0, max(1, first)
    for char in word:
        cells = _cells(char)
        if used + cells > room and current:
            pieces.append(current)
            current, used, room = "", 0, max(1, rest)
        current += char
        used += cells
    return pieces + [current]


def wrap(text: str, width: int, indent: str = "", first: str = "") -> list[str]:
    """Greedy wrapping at spaces, by display cells: `first` starts the first line, `indent` the others."""
    lines: list[str] = []
    current: Optional[str] = None
    for word in text.split(" "):
        prefix = indent if lines else first
        room = width - width_of(prefix)
        if current is not None and width_of(current) + 1 + width_of(word) <= room:
            current += " " + word
            continue
        if current is not None:
            lines.append(prefix + current)
            prefix, room = indent, width - width_of(indent)
        if width_of(word) > room:
            *full, word = _split_word(word, room, width - width_of(indent))
            for piece in full:
                lines.append(prefix + piece)
                prefix = indent
        current = word
    lines.append((indent if lines else first) + (current or ""))
    return lines


def _cap(lines: list[str], limit: Optional[int], width: int) -> tuple[list[str], bool]:
    """At most `limit` lines; the last one ends by saying that the rest was cut."""
    if limit is None or len(lines) <= limit:
        return lines, False
    last = lines[limit - 1]
    while last and width_of(last) + width_of(CUT) > width:
        last = last.rsplit(" ", 1)[0] if " " in last.strip() else last[: max(0, len(last) - 1)]
    return lines[: limit - 1] + [last + CUT], True


@dataclass
class Layout:
    width: int
    id_width: int
    title_width: int
    detail_width: int     # 0: details go under the title
    details: bool         # list every resource, cut nothing
    colour: bool

    @property
    def text_width(self) -> int:
        return self.width - self.id_width - STATUS_WIDTH - 2 * len(GAP)

    def rows(self, rec_id: str, status: Optional[Status], first: str, second: str = "", level: int = 0,
             limit: Optional[int] = DETAIL_LINES, join: bool = False) -> tuple[list[str], bool]:
        """One row: `first` in the recommendation column, `level` steps in; `second` beside it in the
        details column, or else under it (after it, with `join`). Returns the lines and whether
        `second` was cut to `limit` lines."""
        pad = "  " * level
        limit = None if self.details else limit
        right: list[str] = []
        if self.detail_width:
            left = wrap(first, self.title_width, pad + "  ", pad) if first else []
            right, cut = _cap(wrap(second, self.detail_width, "  ") if second else [], limit, self.detail_width)
        elif join and second:
            left, cut = _cap(wrap(f"{first}: {second}", self.text_width, pad + "  ", pad), limit, self.text_width)
        else:
            below = pad + "  "
            left = wrap(first, self.text_width, pad + "  ", pad) if first else []
            under, cut = _cap(wrap(second, self.text_width, below + "  ", below) if second else [], limit,
                              self.text_width)
            left += under
        ids = wrap(rec_id, self.id_width) if rec_id else []
        return [self.line(_at(ids, i), status if i == 0 else None, _at(left, i), _at(right, i))
                for i in range(max(len(ids), len(left), len(right)))], cut

    def header(self) -> list[str]:
        if self.detail_width:
            names = ("ID", "Status", "Recommendation", "Details")
            widths = (self.id_width, STATUS_WIDTH, self.title_width, self.detail_width)
        else:
            names = ("ID", "Status", "Recommendation and details")
            widths = (self.id_width, STATUS_WIDTH, self.text_width)
        return [GAP.join(_pad(n, w) for n, w in zip(names, widths)).rstrip(), GAP.join("-" * w for w in widths)]

    def line(self, ident: str, status: Optional[Status], a: str, b: str = "") -> str:
        word = status.value if status else ""
        painted = f"\x1b[{COLOURS[status]}m{word}\x1b[0m" if status and self.colour else word
        text = _pad(ident, self.id_width) + GAP + painted + " " * (STATUS_WIDTH - len(word)) + GAP
        if b:
            text += _pad(a, self.title_width) + GAP + b
        else:
            text += a
        return text.rstrip()


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - width_of(text))


def _at(lines: list[str], index: int) -> str:
    return lines[index] if index < len(lines) else ""


def layout(report: Report, width: int, details: bool, colour: bool) -> Layout:
    width = max(MIN_WIDTH, width)
    id_width = min(MAX_ID_WIDTH, max([2] + [len(r.id) for r in report.results]))
    rest = width - id_width - STATUS_WIDTH - 2 * len(GAP)
    if rest >= 88:
        longest = max([14] + [width_of(printable(r.title)) for r in report.results])
        title_width = min(longest, max(36, rest // 2))
        return Layout(width, id_width, title_width, rest - title_width - len(GAP), details, colour)
    return Layout(width, id_width, rest, 0, details, colour)


def names_summary(kind: str, names: list[str], fits: Callable[[str], bool]) -> tuple[str, bool]:
    """'97 containers: a, b, c, … and 94 more' with the names that fit (those too long to fit
    beside others are left to the "more"); at least one name, whatever its length."""
    head = f"{len(names)} {PLURAL.get(kind, kind + 's')}: "

    def text(shown: list[str]) -> str:
        rest = len(names) - len(shown)
        return head + ", ".join(shown) + (f", … and {rest} more" if rest else "")

    shown: list[str] = []
    misses = 0
    for name in names:
        if fits(text(shown + [name])):
            shown.append(name)
            misses = 0
        elif shown:
            misses += 1
            if misses == 3:
                break
    if not shown:
        shown = names[:1]
    return text(shown), len(shown) < len(names)


def _flagged_groups(items: list[Item], baseline: Any, rec_id: str) -> list[tuple[Status, str, bool, list[str]]]:
    """Non-PASS items grouped by status, detail and (with --baseline) whether they are new."""
    groups: dict[tuple[Status, str, bool], list[str]] = {}
    for item in items:
        if item.status == Status.PASS:
            continue
        new = baseline is not None and baseline.change_of(rec_id, item.resource) == "new"
        groups.setdefault((item.status, _shown_detail(item), new), []).append(printable(item.resource))
    ordered = sorted(groups.items(), key=lambda g: (SEVERITY.index(g[0][0]), -len(g[1])))
    return [(status, detail, new, names) for (status, detail, new), names in ordered]


def _shown_detail(item: Item) -> str:
    """A waived finding shows why it was accepted, by whom and until when."""
    return f"waived: {item.waiver.describe()}" if item.waiver is not None else item.detail


def _fits(mark: str, width: int, step: str) -> Callable[[str], bool]:
    """Whether a summary of names takes at most NAME_LINES lines, laid out as its row will be."""
    return lambda text: len(wrap(mark + text, width, step + "  ", step)) <= NAME_LINES


def _group_lines(groups: list[tuple[Status, str, bool, list[str]]], kind: str, lay: Layout,
                 uniform: bool) -> tuple[list[str], bool]:
    """A line or two per group of resources: what was found, and on which (summarised)."""
    lines: list[str] = []
    cut = False
    for index, (status, detail, new, names) in enumerate(groups):
        if index == MAX_GROUPS:
            left = sum(len(g[3]) for g in groups[index:])
            return lines + lay.rows("", None, f"… and {left} more {PLURAL.get(kind, kind + 's')}", level=1)[0], True
        detail = "" if uniform else printable(detail)
        mark = "NEW " if new else ""
        if len(names) == 1:
            more, clipped = lay.rows("", status, mark + names[0], detail, level=1, join=True)
        elif lay.detail_width:
            text, clipped = names_summary(kind, names, _fits(mark, lay.title_width, "  "))
            more = lay.rows("", status, mark + text, detail, level=1)[0]
        else:
            # Narrow: the finding first, then on what, under it.
            step = "    " if detail else "  "
            text, clipped = names_summary(kind, names, _fits(mark, lay.text_width, step))
            more = lay.rows("", status, detail, mark + text, level=1)[0] if detail else \
                lay.rows("", status, mark + text, level=1)[0]
        lines += more
        cut = cut or clipped
    return lines, cut


def _result_lines(result: RecommendationResult, lay: Layout, remediation: bool,
                  baseline: Any) -> tuple[list[str], bool]:
    items = result.items
    groups = _flagged_groups(items, baseline, result.id) if len(items) > 1 else []
    uniform = len({(i.status, i.detail) for i in items}) <= 1
    if uniform and groups and groups[0][0] == Status.SKIP:
        groups = []  # every resource skipped for one reason: the details say it all
    kind = resource_kind(result, items[0].resource) if items else "resource"
    summary = result.details
    if groups and not uniform:
        summary = f"{sum(len(g[3]) for g in groups)} of {len(items)} {PLURAL.get(kind, kind + 's')}"
    lines, cut = lay.rows(result.id, result.status, printable(result.title), printable(summary))
    if lay.details and groups:
        for item in items:
            if item.status == Status.PASS:
                continue
            mark = "NEW " if baseline is not None and baseline.change_of(result.id, item.resource) == "new" else ""
            lines += lay.rows("", item.status, mark + printable(item.resource), printable(_shown_detail(item)), level=1,
                              join=True)[0]
    elif groups:
        more, shortened = _group_lines(groups, kind, lay, uniform)
        lines += more
        cut = cut or shortened
    if remediation and result.status in (Status.FAIL, Status.WARN) and result.remediation:
        more, _ = lay.rows("", None, "remediation", printable(result.remediation), level=1, limit=None, join=True)
        lines += more
    return lines, cut


def render_text(report: Report, *, colour: bool = False, remediation: bool = False, quiet: bool = False,
                wide: bool = False, width: int = DEFAULT_WIDTH, **_: Any) -> str:
    if quiet:
        return summary_line(report)
    lay = layout(report, width, wide, colour)
    summary = report.summary()
    source = "" if report.facts_source == "live" else f", from {printable(report.facts_source)}"
    out = [*wrap(f"{report.tool_name} {report.tool_version}  {printable(report.profile_title)}", lay.width, "  "),
           *wrap(f"Host {printable(report.hostname)}, Docker {printable(report.docker_version or 'unknown')}, "
                 f"started {report.started_at}{source}", lay.width, "  ")]
    if report.profile_reason:
        out += wrap(f"Edition: {printable(report.profile_id)}, chosen as {printable(report.profile_reason)}",
                    lay.width, "  ")
    for finding in report.daemon_findings:
        out += wrap(f"Daemon: {printable(finding)}", lay.width, "  ")
    out.append("")
    anything_cut = False
    for section, title in report.sections.items():
        results = [r for r in report.results if r.section == section]
        if not results:
            continue
        out += wrap(f"[{printable(section)}] {printable(title)}", lay.width, "  ")
        out += lay.header()
        for result in results:
            lines, cut = _result_lines(result, lay, remediation, report.baseline)
            out += lines
            anything_cut = anything_cut or cut
        out.append("")
    # WAIVED appears once there are waivers: reports without them read as they always did.
    totals = "  ".join(f"{s.value} {summary[s.value]}" for s in Status
                       if s is not Status.WAIVED or report.waivers is not None)
    count = len(report.results)
    for line in wrap(f"Totals: {totals}  ({count} recommendation{'s' if count != 1 else ''})", lay.width, "  "):
        out.append(_STATUS_WORD.sub(lambda m: _paint(Status(m.group(0)), colour), line))
    out += wrap(score_text(report), lay.width, "  ")
    if report.baseline is not None and report.baseline.first_run:
        out += wrap(f"No baseline: {printable(report.baseline.source)} does not exist yet (first run); "
                    f"all {len(report.baseline.new)} findings are new", lay.width, "  ")
    elif report.baseline is not None:
        counts = report.baseline.counts()
        out += wrap(f"Since {printable(report.baseline.source)}: {counts['new']} new, {counts['unchanged']} unchanged, "
                    f"{counts['fixed']} fixed", lay.width, "  ")
        if report.baseline.edition:
            out += wrap(f"  the baseline was judged against {printable(report.baseline.edition)}: its ids are read in "
                        f"this edition's numbering; {report.baseline.not_comparable} of its findings have no "
                        "recommendation here and are left out", lay.width, "    ")
        fixed = report.baseline.fixed
        for rec_id, resource, status in fixed if lay.details else fixed[:MAX_GROUPS]:
            out += wrap(f"  fixed: {rec_id} {printable(resource)} (was {status})".rstrip(), lay.width, "    ")
        if not lay.details and len(fixed) > MAX_GROUPS:
            out.append(f"  … and {len(fixed) - MAX_GROUPS} more fixed")
            anything_cut = True
    if report.hint:
        out += wrap(printable(report.hint), lay.width, "  ")
    if report.waivers is not None:
        counts = report.waivers.counts()
        out += wrap(f"Waivers from {printable(report.waivers.source)}: {counts['waived_findings']} finding(s) waived "
                    f"by {counts['applied']} waiver(s)", lay.width, "  ")
        for line in waiver_lines(report.waivers):
            out += wrap(f"  {printable(line)}", lay.width, "    ")
    if report.notes:
        out += ["", "Notes:"]
        for note in report.notes:
            out += wrap(f"  - {printable(note)}", lay.width, "    ")
    if anything_cut:
        out += ["", *wrap("Some resources and details are summarised: --details lists every resource and shows "
                          "every detail in full.", lay.width)]
    return "\n".join(out) + "\n"


def _paint(status: Status, colour: bool) -> str:
    return f"\x1b[{COLOURS[status]}m{status.value}\x1b[0m" if colour else status.value


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
