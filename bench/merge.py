"""`docker-cis-bench merge`: many hosts' JSON reports in one summary, for operators who collect the
nightly reports centrally. Per host: the counts and score, and which hosts fail the most. Per
recommendation: on how many hosts it fails. Hosts that could not be audited are listed by name.

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
    # rec id -> {"title", "FAIL": [hosts], "ERROR": [hosts], "WARN": [hosts]}
    recommendations: dict[str, dict[str, Any]] = field(default_factory=dict)


Audited = tuple[HostRow, list[tuple[str, str, str]]]


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
        row = HostRow(hostname=str(data["host"]["hostname"]), source=path, started_at=str(data.get("started_at", "")),
                      profile=str(data["profile"]["id"]), docker_version=str(data["host"].get("docker_version")),
                      summary={k: int(v) for k, v in data["summary"].items()},
                      **_scores(data.get("score") or {}))
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
    fleet = Fleet()
    for name in sorted(newest):
        entry = newest[name][1]
        if isinstance(entry, Unreachable):
            fleet.unreachable.append(entry)
            continue
        row, results = entry
        fleet.hosts.append(row)
        for rec_id, title, status in results:
            rec = fleet.recommendations.get(rec_id)
            if rec is None:
                rec = fleet.recommendations[rec_id] = {"title": title, **{s: [] for s in BAD}}
            if status in BAD:
                rec[status].append(name)
    return fleet


def ranking(fleet: Fleet) -> list[tuple[str, dict[str, Any]]]:
    def key(entry: tuple[str, dict[str, Any]]) -> tuple[int, int, int, list[int]]:
        rec_id, rec = entry
        return (-len(rec["FAIL"]), -len(rec["ERROR"]), -len(rec["WARN"]), [int(p) if p.isdigit() else 0 for p in rec_id.split(".")])

    return sorted(((i, r) for i, r in fleet.recommendations.items() if any(r[s] for s in BAD)), key=key)


def host_ranking(fleet: Fleet) -> list[HostRow]:
    """Hosts with findings, the most failing recommendations first (then errors, then warnings)."""
    bad = [h for h in fleet.hosts if any(h.summary.get(s, 0) for s in BAD)]
    return sorted(bad, key=lambda h: (-h.summary.get("FAIL", 0), -h.summary.get("ERROR", 0),
                                      -h.summary.get("WARN", 0), h.hostname))


def _headline(fleet: Fleet) -> str:
    total = len(fleet.hosts) + len(fleet.unreachable)
    line = f"{total} hosts: {len(fleet.hosts)} audited"
    return line + (f", {len(fleet.unreachable)} unreachable" if fleet.unreachable else "")


def render_merge(fleet: Fleet, fmt: str, top: int = 15) -> str:
    if fmt == "html":
        from bench.reporters.html import render_fleet_html

        return render_fleet_html(fleet)
    if fmt == "prometheus":
        from bench.reporters.prometheus import render_fleet_prometheus

        return render_fleet_prometheus(fleet)
    ranked = ranking(fleet)
    hosts_ranked = host_ranking(fleet)
    if fmt == "json":
        return json.dumps({
            "hosts": [{"hostname": h.hostname, "report": h.source, "started_at": h.started_at, "profile": h.profile,
                       "docker_version": h.docker_version, "summary": h.summary,
                       "score": {**h.score, **({"automated": h.automated} if h.automated is not None else {})}}
                      for h in fleet.hosts],
            "unreachable": [{"hostname": u.hostname, "reason": u.reason, "at": u.at, "marker": u.source}
                            for u in fleet.unreachable],
            "hosts_failing_most": [{"hostname": h.hostname, **{s: h.summary.get(s, 0) for s in BAD}}
                                   for h in hosts_ranked],
            "recommendations": [{"id": i, "title": r["title"], "failing_hosts": len(r["FAIL"]),
                                 "error_hosts": len(r["ERROR"]), "warning_hosts": len(r["WARN"]),
                                 "failing": r["FAIL"], "errors": r["ERROR"], "warnings": r["WARN"]} for i, r in ranked],
        }, indent=2) + "\n"
    from tabulate import tabulate

    statuses = [s.value for s in Status]
    host_rows = [[printable(h.hostname), printable(h.docker_version)] + [h.summary.get(s, 0) for s in statuses]
                 + [f"{h.score.get('passed', 0)}/{h.score.get('judged', 0)}", h.started_at] for h in fleet.hosts]
    out = [_headline(fleet), "",
           tabulate(host_rows, headers=["Host", "Docker"] + statuses + ["Score", "Audited"], disable_numparse=True), ""]
    if fleet.unreachable:
        rows = [[printable(u.hostname), printable(u.reason, limit=100), printable(u.at)] for u in fleet.unreachable]
        out += ["Unreachable hosts (no report)", "",
                tabulate(rows, headers=["Host", "Reason", "When"], disable_numparse=True), ""]
    if hosts_ranked:
        rows = [[printable(h.hostname)] + [h.summary.get(s, 0) for s in BAD] for h in hosts_ranked[:top]]
        out += ["Hosts failing the most recommendations", "",
                tabulate(rows, headers=["Host", *BAD], disable_numparse=True), ""]
    if ranked:
        rec_rows = [[i, printable(r["title"])[:60], len(r["FAIL"]), len(r["ERROR"]), len(r["WARN"]),
                     printable(", ".join(r["FAIL"][:5]) + (" ..." if len(r["FAIL"]) > 5 else ""))]
                    for i, r in ranked[:top]]
        out += ["Recommendations failing on the most hosts", "",
                tabulate(rec_rows, headers=["ID", "Recommendation", "FAIL", "ERROR", "WARN", "Failing hosts"],
                         disable_numparse=True)]
    else:
        out.append("No recommendation fails on any host.")
    return "\n".join(out) + "\n"
