"""`docker-cis-bench merge`: many hosts' JSON reports in one summary, for operators who collect the
nightly reports centrally. Per host: the counts and score, and which hosts fail the most. Per
recommendation: on how many hosts it fails. Hosts that could not be audited are listed by name.

Recommendation ids are an edition's own numbering (5.4 is privileged containers in 1.11.0 and
capabilities in 1.8.0), so a recommendation is an (edition, id) pair; a fleet audited against more
than one edition (`--profile auto` on mixed engines) shows each with its edition.

A host that could not be reached has no report. Whatever collects the reports (the Ansible
playbook in deploy/ansible/, a script) says so with a marker file in place of its report
(docs/fleets.md):

    {"schema_version": 1, "unreachable": {"hostname": "web3", "reason": "ssh: connect ... refused",
                                          "at": "2026-11-30T03:15:00+00:00"}}

so a host that drops out of the fleet is reported, not silently missing from the summary.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from bench.report_files import ReportFileError, load_report
from bench.reporters.json_report import REPORT_SCHEMA_VERSION
from bench.sanitize import printable
from bench.status import FINDINGS, Status

BAD = tuple(s.value for s in FINDINGS)


@dataclass
class HostRow:
    hostname: str
    source: str
    started_at: str
    profile: str
    docker_version: str
    summary: dict[str, int]
    score: dict[str, int]
    # Editions labelled Automated/Manual: the score over the Automated recommendations.
    automated: Optional[dict[str, int]] = None
    # The numbering its ids are in: the profile's edition, as profiles of one edition (the shipped
    # one, a site's relabelled copy) number alike. "" until merge_reports resolves a report that
    # names none (reports from before editions were written, a profile without one).
    edition: str = ""


@dataclass
class Unreachable:
    hostname: str
    source: str
    reason: str
    at: str


@dataclass
class Fleet:
    hosts: list[HostRow] = field(default_factory=list)
    unreachable: list[Unreachable] = field(default_factory=list)
    # (edition, rec id) -> {"edition", "title", "FAIL": [hosts], "ERROR": [hosts], "WARN": [hosts]}
    recommendations: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def editions(self) -> dict[str, list[str]]:
        """Each edition of the audited hosts and its hosts, oldest edition first."""
        found: dict[str, list[str]] = {}
        for host in self.hosts:
            found.setdefault(host.edition, []).append(host.hostname)
        return {edition: found[edition] for edition in sorted(found, key=_version_key)}

    @property
    def mixed(self) -> bool:
        """More than one edition: an id alone no longer says which recommendation it is."""
        return len({h.edition for h in self.hosts}) > 1


Audited = tuple[HostRow, list[tuple[str, str, str]]]


def _version_key(text: str) -> tuple[list[int], str]:
    return [int(p) if p.isdigit() else 0 for p in text.split(".")], text


def _marker(path: str, refused: ReportFileError) -> Unreachable:
    """The file as an unreachable-host marker; `refused` (why it is no report) when it is not one."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        raise refused from None
    if not isinstance(data, dict) or "unreachable" not in data:
        raise refused
    entry = data["unreachable"]
    if data.get("schema_version") != REPORT_SCHEMA_VERSION:
        raise ReportFileError(f"{path}: an unreachable-host marker of schema version {data.get('schema_version')!r}; "
                              f"this merge reads version {REPORT_SCHEMA_VERSION}")
    if not isinstance(entry, dict) or not isinstance(entry.get("hostname"), str) or not entry["hostname"]:
        raise ReportFileError(f"{path}: field 'unreachable.hostname' must be the host's name (an unreachable-host marker)")
    return Unreachable(hostname=entry["hostname"], source=path, reason=str(entry.get("reason") or "not reached"),
                       at=str(entry.get("at") or ""))


def _read(path: str) -> Union[Audited, Unreachable]:
    try:
        data = load_report(path)
    except ReportFileError as refused:
        # Markers are rare: look for one only when the file is not a report.
        return _marker(path, refused)
    try:
        profile = data["profile"]
        row = HostRow(hostname=str(data["host"]["hostname"]), source=path, started_at=str(data.get("started_at", "")),
                      profile=str(profile["id"]), docker_version=str(data["host"].get("docker_version")),
                      summary={k: int(v) for k, v in data["summary"].items()},
                      edition=str(profile.get("edition") or ""), **_scores(data.get("score") or {}))
        results = [(str(r["id"]), str(r.get("title", "")), str(r["status"])) for r in data["results"]]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ReportFileError(f"{path}: the report lacks host, profile, summary or result fields") from None
    return row, results


def _scores(score: dict[str, Any]) -> dict[str, Any]:
    """A report's score (passed, judged) and, where its edition has one, the Automated score."""
    automated = score.get("automated")
    return {"score": {k: int(score[k]) for k in ("passed", "judged") if k in score},
            "automated": None if automated is None else {k: int(automated[k]) for k in ("passed", "judged")
                                                         if k in automated}}


def merge_reports(paths: list[str]) -> Fleet:
    # Several files of one host (a folder of nightly reports, a marker beside an older report): the
    # newest counts, and only it is counted; on a tie a report beats a marker.
    newest: dict[str, tuple[tuple[str, int], Union[Audited, Unreachable]]] = {}
    for path in paths:
        entry = _read(path)
        if isinstance(entry, Unreachable):
            name, when = entry.hostname, (entry.at, 0)
        else:
            name, when = entry[0].hostname, (entry[0].started_at, 1)
        if name not in newest or newest[name][0] < when:
            newest[name] = (when, entry)
    # A report that names no edition takes the one another report of its profile names, so that an
    # older auditor's 1.11.0 report and a newer one's are not told apart as two editions; failing
    # that, its profile is the numbering.
    named: dict[str, str] = {}
    for name in sorted(newest):
        entry = newest[name][1]
        if not isinstance(entry, Unreachable) and entry[0].edition:
            named.setdefault(entry[0].profile, entry[0].edition)
    fleet = Fleet()
    for name in sorted(newest):
        entry = newest[name][1]
        if isinstance(entry, Unreachable):
            fleet.unreachable.append(entry)
            continue
        row, results = entry
        row.edition = row.edition or named.get(row.profile, row.profile)
        fleet.hosts.append(row)
        for rec_id, title, status in results:
            rec = fleet.recommendations.get((row.edition, rec_id))
            if rec is None:
                rec = fleet.recommendations[(row.edition, rec_id)] = {"edition": row.edition, "title": title,
                                                                       **{s: [] for s in BAD}}
            if status in BAD:
                rec[status].append(name)
    return fleet


def ranking(fleet: Fleet) -> list[tuple[str, dict[str, Any]]]:
    """(id, recommendation) with findings, the most failing hosts first; the edition is rec["edition"]."""
    def key(entry: tuple[str, dict[str, Any]]) -> tuple[int, int, int, list[int], tuple[list[int], str]]:
        rec_id, rec = entry
        return (-len(rec["FAIL"]), -len(rec["ERROR"]), -len(rec["WARN"]),
                [int(p) if p.isdigit() else 0 for p in rec_id.split(".")], _version_key(rec["edition"]))

    return sorted(((i, r) for (_, i), r in fleet.recommendations.items() if any(r[s] for s in BAD)), key=key)


def host_ranking(fleet: Fleet) -> list[HostRow]:
    """Hosts with findings, the most failing recommendations first (then errors, then warnings)."""
    bad = [h for h in fleet.hosts if any(h.summary.get(s, 0) for s in BAD)]
    return sorted(bad, key=lambda h: (-h.summary.get("FAIL", 0), -h.summary.get("ERROR", 0),
                                      -h.summary.get("WARN", 0), h.hostname))


def _headline(fleet: Fleet) -> str:
    total = len(fleet.hosts) + len(fleet.unreachable)
    line = f"{total} host{'s' if total != 1 else ''}: {len(fleet.hosts)} audited"
    return line + (f", {len(fleet.unreachable)} unreachable" if fleet.unreachable else "")


def editions_line(fleet: Fleet) -> str:
    """For a fleet of more than one edition, the one line that says so; "" otherwise."""
    if not fleet.mixed:
        return ""
    counts = ", ".join(f"{printable(e)} on {len(h)} host{'s' if len(h) != 1 else ''}"
                       for e, h in fleet.editions().items())
    return f"Mixed CIS editions, each numbering recommendations its own way: {counts}."


def render_merge(fleet: Fleet, fmt: str, top: int = 15) -> str:
    if fmt == "html":
        from bench.reporters.html import render_fleet_html

        return render_fleet_html(fleet)
    if fmt == "prometheus":
        from bench.reporters.prometheus import render_fleet_prometheus

        return render_fleet_prometheus(fleet)
    ranked = ranking(fleet)
    hosts_ranked = host_ranking(fleet)
    # A single-edition fleet's output stays as it was; the edition appears where ids would be ambiguous.
    mixed = fleet.mixed
    if fmt == "json":
        return json.dumps({
            "hosts": [{"hostname": h.hostname, "report": h.source, "started_at": h.started_at, "profile": h.profile,
                       "docker_version": h.docker_version, "summary": h.summary,
                       "score": {**h.score, **({"automated": h.automated} if h.automated is not None else {})}}
                      for h in fleet.hosts],
            **({"editions": fleet.editions()} if mixed else {}),
            "unreachable": [{"hostname": u.hostname, "reason": u.reason, "at": u.at, "marker": u.source}
                            for u in fleet.unreachable],
            "hosts_failing_most": [{"hostname": h.hostname, **{s: h.summary.get(s, 0) for s in BAD}}
                                   for h in hosts_ranked],
            "recommendations": [{**({"edition": r["edition"]} if mixed else {}), "id": i, "title": r["title"],
                                 "failing_hosts": len(r["FAIL"]), "error_hosts": len(r["ERROR"]),
                                 "warning_hosts": len(r["WARN"]), "failing": r["FAIL"], "errors": r["ERROR"],
                                 "warnings": r["WARN"]} for i, r in ranked],
        }, indent=2) + "\n"
    from tabulate import tabulate

    statuses = [s.value for s in Status]
    edition_head = ["Edition"] if mixed else []
    host_rows = [[printable(h.hostname), printable(h.docker_version)] + ([printable(h.edition)] if mixed else [])
                 + [h.summary.get(s, 0) for s in statuses]
                 + [f"{h.score.get('passed', 0)}/{h.score.get('judged', 0)}", h.started_at] for h in fleet.hosts]
    out = [_headline(fleet), *([editions_line(fleet)] if mixed else []), "",
           tabulate(host_rows, headers=["Host", "Docker", *edition_head] + statuses + ["Score", "Audited"],
                    disable_numparse=True), ""]
    if fleet.unreachable:
        rows = [[printable(u.hostname), printable(u.reason, limit=100), printable(u.at)] for u in fleet.unreachable]
        out += ["Unreachable hosts (no report)", "",
                tabulate(rows, headers=["Host", "Reason", "When"], disable_numparse=True), ""]
    if hosts_ranked:
        rows = [[printable(h.hostname)] + [h.summary.get(s, 0) for s in BAD] for h in hosts_ranked[:top]]
        out += ["Hosts failing the most recommendations", "",
                tabulate(rows, headers=["Host", *BAD], disable_numparse=True), ""]
    if ranked:
        rec_rows = [([printable(r["edition"])] if mixed else []) + [i, printable(r["title"])[:60], len(r["FAIL"]),
                     len(r["ERROR"]), len(r["WARN"]),
                     printable(", ".join(r["FAIL"][:5]) + (" ..." if len(r["FAIL"]) > 5 else ""))]
                    for i, r in ranked[:top]]
        out += ["Recommendations failing on the most hosts", "",
                tabulate(rec_rows, headers=[*edition_head, "ID", "Recommendation", "FAIL", "ERROR", "WARN",
                                            "Failing hosts"], disable_numparse=True)]
    else:
        out.append("No recommendation fails on any host.")
    return "\n".join(out) + "\n"
