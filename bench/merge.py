"""`docker-cis-bench merge`: many hosts' JSON reports in one summary, for operators who collect the
nightly reports centrally. Per host: the counts and score. Per recommendation: on how many hosts it
fails."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from bench.report_files import ReportFileError, load_report
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
class Fleet:
    hosts: list[HostRow] = field(default_factory=list)
    # rec id -> {"title", "FAIL": [hosts], "ERROR": [hosts], "WARN": [hosts]}
    recommendations: dict[str, dict[str, Any]] = field(default_factory=dict)


def merge_reports(paths: list[str]) -> Fleet:
    fleet = Fleet()
    seen: dict[str, str] = {}
    for path in paths:
        data = load_report(path)
        try:
            host = str(data["host"]["hostname"])
            row = HostRow(hostname=host, source=path, started_at=str(data.get("started_at", "")),
                          profile=str(data["profile"]["id"]), docker_version=str(data["host"].get("docker_version")),
                          summary={k: int(v) for k, v in data["summary"].items()},
                          **_scores(data.get("score") or {}))
            results = [(str(r["id"]), str(r.get("title", "")), str(r["status"])) for r in data["results"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ReportFileError(f"{path}: the report lacks host, profile, summary or result fields") from None
        if host in seen:
            # Two reports of one host: keep the newer, so a folder of nightly reports merges sensibly.
            previous = next(h for h in fleet.hosts if h.hostname == host)
            if previous.started_at >= row.started_at:
                continue
            fleet.hosts.remove(previous)
            for rec in fleet.recommendations.values():
                for status in BAD:
                    if host in rec[status]:
                        rec[status].remove(host)
        seen[host] = path
        fleet.hosts.append(row)
        for rec_id, title, status in results:
            rec = fleet.recommendations.setdefault(rec_id, {"title": title, **{s: [] for s in BAD}})
            if status in BAD:
                rec[status].append(host)
    fleet.hosts.sort(key=lambda h: h.hostname)
    return fleet


def _scores(score: dict[str, Any]) -> dict[str, Any]:
    """A report's score (passed, judged) and, where its edition has one, the Automated score."""
    automated = score.get("automated")
    return {"score": {k: int(score[k]) for k in ("passed", "judged") if k in score},
            "automated": None if automated is None else {k: int(automated[k]) for k in ("passed", "judged")
                                                         if k in automated}}


def ranking(fleet: Fleet) -> list[tuple[str, dict[str, Any]]]:
    def key(entry: tuple[str, dict[str, Any]]) -> tuple[int, int, int, list[int]]:
        rec_id, rec = entry
        return (-len(rec["FAIL"]), -len(rec["ERROR"]), -len(rec["WARN"]), [int(p) if p.isdigit() else 0 for p in rec_id.split(".")])

    return sorted(((i, r) for i, r in fleet.recommendations.items() if any(r[s] for s in BAD)), key=key)


def render_merge(fleet: Fleet, fmt: str, top: int = 15) -> str:
    if fmt == "html":
        from bench.reporters.html import render_fleet_html

        return render_fleet_html(fleet)
    if fmt == "prometheus":
        from bench.reporters.prometheus import render_fleet_prometheus

        return render_fleet_prometheus(fleet)
    ranked = ranking(fleet)
    if fmt == "json":
        return json.dumps({
            "hosts": [{"hostname": h.hostname, "report": h.source, "started_at": h.started_at, "profile": h.profile,
                       "docker_version": h.docker_version, "summary": h.summary,
                       "score": {**h.score, **({"automated": h.automated} if h.automated is not None else {})}}
                      for h in fleet.hosts],
            "recommendations": [{"id": i, "title": r["title"], "failing_hosts": len(r["FAIL"]),
                                 "error_hosts": len(r["ERROR"]), "warning_hosts": len(r["WARN"]),
                                 "failing": r["FAIL"], "errors": r["ERROR"], "warnings": r["WARN"]} for i, r in ranked],
        }, indent=2) + "\n"
    from tabulate import tabulate

    statuses = [s.value for s in Status]
    host_rows = [[printable(h.hostname), printable(h.docker_version)] + [h.summary.get(s, 0) for s in statuses]
                 + [f"{h.score.get('passed', 0)}/{h.score.get('judged', 0)}", h.started_at] for h in fleet.hosts]
    out = [f"{len(fleet.hosts)} hosts", "",
           tabulate(host_rows, headers=["Host", "Docker"] + statuses + ["Score", "Audited"], disable_numparse=True), ""]
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
