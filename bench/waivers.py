"""Waivers: findings an operator has accepted, each with a reason, an owner and an expiry date.

A waivers file (YAML) lists accepted findings by recommendation id and resource glob:

    profile: cis-docker-1.8.0        # optional: the edition whose ids the waivers use
    waivers:
      - id: "5.15"                   # a recommendation id
        resource: "node-exporter*"   # optional glob over the finding's resource; default: all
        justification: the exporter reads every process's /proc
        owner: ops@example.com
        expires: 2027-03-31          # the last day the waiver applies

Only a violation (FAIL or WARN) is waived; an ERROR is not a finding anyone can accept, because
what it hides is unknown. A waived finding is never a pass: it gets its own status, WAIVED. A
waiver past its expiry date applies to nothing, and the report says it expired; a waiver that
matched no finding is listed as stale, because an exception nobody needs any more is itself
something for an auditor to remove.
"""
from __future__ import annotations

import datetime
import fnmatch
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Optional

from bench.errors import FileInputError
from bench.results import RecommendationResult, Report
from bench.status import Status, worst
from bench.yamlfile import parse_yaml

# What a waiver may accept: violations. ERROR means "unknown", which no one can accept.
WAIVABLE = (Status.FAIL, Status.WARN)
_TOP = {"profile", "waivers"}
_FIELDS = {"id", "resource", "justification", "owner", "expires"}
_REQUIRED = ("id", "justification", "owner", "expires")


class WaiverFileError(FileInputError):
    entry_kind = "waiver"


@dataclass(frozen=True)
class Waiver:
    id: str                     # recommendation id, in the file's edition
    resource: str               # a glob over resources; "*" for every one
    justification: str
    owner: str
    expires: datetime.date      # the last day it applies
    source: str                 # "waivers.yaml:12", for the reader to find it

    def describe(self) -> str:
        return f"{self.justification} (owner {self.owner}, until {self.expires.isoformat()}; {self.source})"


@dataclass
class WaiverFile:
    path: str
    profile: str = ""           # the edition the ids are written in ("" = the audited one)
    profile_line: Optional[int] = None
    waivers: list[Waiver] = field(default_factory=list)


@dataclass
class WaiverOutcome:
    """What the waivers did to one report."""

    source: str
    today: datetime.date
    applied: dict[Waiver, list[tuple[str, str]]] = field(default_factory=dict)   # -> (rec id, resource)
    expired: dict[Waiver, list[tuple[str, str]]] = field(default_factory=dict)   # findings it would cover
    stale: list[Waiver] = field(default_factory=list)
    untranslated: list[Waiver] = field(default_factory=list)   # ids the audited edition does not have

    def counts(self) -> dict[str, int]:
        return {"applied": len(self.applied), "expired": len(self.expired), "stale": len(self.stale),
                "waived_findings": sum(len(v) for v in self.applied.values())}


def load_waivers(path: str) -> WaiverFile:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WaiverFileError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_waivers(text, path)


def parse_waivers(text: str, path: str) -> WaiverFile:
    data = parse_yaml(text, path, WaiverFileError)
    if not isinstance(data, dict):
        raise WaiverFileError(path, "expected a mapping with a 'waivers' list", line=1)
    lines = getattr(data, "key_lines", {})
    for key in data:
        if key not in _TOP:
            raise WaiverFileError(path, f"unknown key (known: {', '.join(sorted(_TOP))})", line=lines.get(key),
                                  field=str(key))
    profile = data.get("profile", "")
    if not isinstance(profile, str):
        raise WaiverFileError(path, "a profile id such as cis-docker-1.8.0", line=lines.get("profile"),
                              field="profile")
    entries = data.get("waivers")
    if not isinstance(entries, list):
        raise WaiverFileError(path, "a list of waivers", line=lines.get("waivers", 1), field="waivers")
    item_lines = getattr(entries, "item_lines", [])
    return WaiverFile(path, profile, lines.get("profile"),
                      [_waiver(entry, index, path, item_lines[index] if index < len(item_lines) else None)
                       for index, entry in enumerate(entries)])


def _waiver(entry: Any, index: int, path: str, line: Optional[int]) -> Waiver:
    name = f"#{index + 1}"
    if not isinstance(entry, dict):
        raise WaiverFileError(path, "expected a mapping (id, resource, justification, owner, expires)",
                              line=line, entry=name)
    lines = getattr(entry, "key_lines", {})
    name = str(entry.get("id", name))

    def fail(key: str, message: str) -> WaiverFileError:
        return WaiverFileError(path, message, line=lines.get(key, line), entry=name, field=key)

    for key in entry:
        if key not in _FIELDS:
            raise fail(str(key), f"unknown field (known: {', '.join(sorted(_FIELDS))})")
    for key in _REQUIRED:
        if key not in entry:
            raise WaiverFileError(path, "missing", line=line, entry=name, field=key)
    values = {}
    for key in ("id", "justification", "owner", "resource"):
        value = entry.get(key, "*" if key == "resource" else None)
        # Ids like 5.10 are numbers to YAML; an id written unquoted would silently lose its zero.
        if not isinstance(value, str) or not value.strip():
            raise fail(key, "a non-empty text in quotes" if key == "id" else "a non-empty text")
        values[key] = value.strip()
    return Waiver(values["id"], values["resource"], values["justification"], values["owner"],
                  _date(entry["expires"], fail), f"{path}:{lines.get('id', line)}")


def _date(value: Any, fail: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        raise fail("expires", "a date (YYYY-MM-DD), not a time")
    if isinstance(value, datetime.date):
        return value
    # Python 3.11's fromisoformat also takes 20270331 and 2027-W13: not what the file format says.
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise fail("expires", f"a date written YYYY-MM-DD, not {value!r}")


def apply_waivers(report: Report, waivers: WaiverFile, today: datetime.date,
                  translate: Optional[dict[str, dict[str, str]]] = None) -> WaiverOutcome:
    """Mark the findings the waivers accept as WAIVED, in place, and say what each waiver did.

    `translate` is the audited edition's concordance (its rec id -> {other edition: id}), used when
    the file names another edition."""
    outcome = WaiverOutcome(waivers.path, today)
    known = {report.profile_id} | {other for ids in (translate or {}).values() for other in ids}
    if waivers.profile and waivers.profile not in known:
        raise WaiverFileError(waivers.path, f"no shipped edition is named {waivers.profile!r} "
                              f"(known: {', '.join(sorted(known))})", line=waivers.profile_line, field="profile")
    ids = _audited_ids(waivers, report.profile_id, translate or {}, outcome)
    by_rec: dict[str, list[Waiver]] = {}
    for waiver, rec_id in ids:
        by_rec.setdefault(rec_id, []).append(waiver)
    for result in report.results:
        for waiver in by_rec.get(result.id, ()):
            _apply(result, waiver, today, outcome)
    # Stale means the finding is gone: only where the recommendation was judged this run (not left
    # out by --check/--skip/--level, not ERROR), and no other waiver already took its finding.
    results = {r.id: r for r in report.results}
    outcome.stale = [w for w, rec in ids if w not in outcome.applied and w not in outcome.expired
                     and rec in results and results[rec].status != Status.ERROR
                     and not _matches_waived(results[rec], w)]
    return outcome


def _matches_waived(result: RecommendationResult, waiver: Waiver) -> bool:
    if not result.items:
        return result.status == Status.WAIVED and fnmatch.fnmatchcase("", waiver.resource)
    return any(i.status == Status.WAIVED and fnmatch.fnmatchcase(i.resource, waiver.resource) for i in result.items)


def _audited_ids(waivers: WaiverFile, profile_id: str, translate: dict[str, dict[str, str]],
                 outcome: WaiverOutcome) -> list[tuple[Waiver, str]]:
    if not waivers.profile or waivers.profile == profile_id:
        return [(w, w.id) for w in waivers.waivers]
    backwards = {ids.get(waivers.profile): rec for rec, ids in translate.items() if ids.get(waivers.profile)}
    found = []
    for waiver in waivers.waivers:
        if waiver.id in backwards:
            found.append((waiver, backwards[waiver.id]))
        else:
            outcome.untranslated.append(waiver)
    return found


def _apply(result: RecommendationResult, waiver: Waiver, today: datetime.date, outcome: WaiverOutcome) -> None:
    flagged = [i for i in result.items if i.status in WAIVABLE and fnmatch.fnmatchcase(i.resource, waiver.resource)]
    whole = not result.items and result.status in WAIVABLE and fnmatch.fnmatchcase("", waiver.resource)
    covered = [(result.id, i.resource) for i in flagged] + ([(result.id, "")] if whole else [])
    if not covered:
        return
    if waiver.expires < today:
        outcome.expired.setdefault(waiver, []).extend(covered)
        result.expired_waivers.append(waiver)
        return
    outcome.applied.setdefault(waiver, []).extend(covered)
    result.waivers.append(waiver)
    if whole:
        result.status = Status.WAIVED
        result.details = f"{result.details}; waived: {waiver.describe()}"
        return
    hits = {id(i) for i in flagged}
    result.items = [replace(i, status=Status.WAIVED, waiver=waiver) if id(i) in hits else i for i in result.items]
    result.status = worst(i.status for i in result.items)
    names = ", ".join(i.resource for i in flagged[:5]) + (f" and {len(flagged) - 5} more" if len(flagged) > 5 else "")
    result.details = f"{result.details}; waived: {names}: {waiver.describe()}"


def waiver_lines(outcome: WaiverOutcome) -> Iterable[str]:
    """The waivers a reader must act on: expired, stale, not in this edition."""
    for waiver, covered in outcome.expired.items():
        yield (f"expired on {waiver.expires.isoformat()}: {waiver.id} {waiver.resource} ({waiver.owner}, "
               f"{waiver.source}); {len(covered)} finding(s) count again")
    for waiver in outcome.stale:
        yield f"stale: {waiver.id} {waiver.resource} matched no finding ({waiver.owner}, {waiver.source})"
    for waiver in outcome.untranslated:
        yield f"not in this edition: {waiver.id} of {waiver.source} has no counterpart in the audited profile"
