"""Evaluate checks over facts and roll their results up into the profile's recommendations."""
from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Iterable, Optional

from bench import TOOL_NAME, __version__
from bench.check import Check
from bench.facts import Facts
from bench.profile import Profile, Recommendation
from bench.results import CheckInfo, CheckResult, Item, RecommendationResult, Report
from bench.status import Status, worst
from bench.yaml_checks.params import param_value, unknown_param


def run_check(check: Check, facts: Facts, params: Optional[dict[str, Any]] = None) -> CheckResult:
    """One check, isolated: a missing fact is ERROR/SKIP with the reason, a crash is ERROR."""
    for group in check.needs:
        try:
            probe = facts.group(group)
        except KeyError:
            return CheckResult(check.id, Status.ERROR, f"check {check.id} needs unknown facts {group!r}")
        if probe.error:
            return CheckResult(check.id, Status.ERROR, f"{group} facts not collected: {probe.error}")
        if probe.skipped:
            return CheckResult(check.id, Status.SKIP, probe.skipped)
    try:
        result = check.run(facts, {**check.params, **(params or {})})
    except Exception as exc:
        return CheckResult(check.id, Status.ERROR, f"check {check.id} crashed: {type(exc).__name__}: {exc}")
    if not isinstance(result, CheckResult):
        return CheckResult(check.id, Status.ERROR, f"check {check.id} returned {type(result).__name__}")
    return result


def needs_of(checks: Iterable[Check]) -> set[str]:
    """The fact groups to collect: those the checks need, and those they use when they can be had."""
    needed: set[str] = set()
    for check in checks:
        needed.update(check.needs)
        needed.update(check.wants)
    return needed


def _advice(status: Status) -> Status:
    # A Not Scored recommendation of CIS 1.11.0 is advice: violating it warns, it does not fail.
    return Status.WARN if status == Status.FAIL else status


def combine(rec: Recommendation, results: list[CheckResult]) -> RecommendationResult:
    status = worst(r.status for r in results)
    items: list[Item] = [item for r in results for item in r.items]
    if len(results) == 1:
        details = results[0].details
    else:
        details = "; ".join(f"{r.check}: {r.details}" for r in results if r.details)
    if rec.advisory:
        status = _advice(status)
        items = [Item(i.resource, _advice(i.status), i.detail) for i in items]
    return RecommendationResult(
        id=rec.id, section=rec.section, title=rec.title, scored=rec.scored, level=rec.level, status=status,
        details=details, remediation=rec.remediation, checks=list(rec.checks), items=items,
        automation=rec.automation, label=rec.label)


def _profile_params(check: Check, given: dict[str, Any]) -> dict[str, Any]:
    """A profile's settings for a check, in the form the check takes (as --param would give them);
    ValueError for one the check does not take. selection_for refuses those before collection,
    naming file and line; this is for a caller that did not select through it."""
    prepared = {}
    for name, value in given.items():
        problem = unknown_param(check, name)
        if problem:
            raise ValueError(problem)
        prepared[name] = param_value(check, name, value)
    return prepared


def running_only(facts: Facts) -> Facts:
    """The facts with only the running containers (and those whose state is unknown): for a
    recommendation that judges running containers when stopped ones were collected too."""
    kept = [c for c in facts.containers.items
            if c.error or (c.inspect.get("State") or {}).get("Running", False)]
    view = dataclasses.replace(facts, containers=dataclasses.replace(facts.containers, items=kept, scope="running"))
    return view


def _unseen_stopped(rec: Recommendation, checks: dict[str, Check], facts: Facts,
                    result: RecommendationResult) -> RecommendationResult:
    """A recommendation that judges every container cannot pass on facts that hold only the
    running ones: the stopped ones were never looked at."""
    uses_containers = any("containers" in checks[c].needs for c in rec.checks if c in checks)
    if (rec.containers != "all" or facts.containers.scope != "running" or not uses_containers
            or facts.containers.unavailable() or result.status not in (Status.PASS, Status.SKIP)):
        return result
    if result.status == Status.SKIP and facts.containers.items:
        return result   # not applicable for another reason
    result.status = Status.ERROR
    result.details = (f"{result.details}; but this edition judges every container, stopped ones too, and only "
                      "running ones are in these facts (a live audit collects every container for this "
                      "edition, and so does `record`: record them again)")
    return result


def evaluate(recommendations: list[Recommendation], checks: dict[str, Check],
             facts: Facts, extra_checks: Iterable[Check] = (),
             params: Optional[dict[str, dict[str, Any]]] = None,
             every_container: bool = False) -> list[RecommendationResult]:
    """Each recommendation's result from its checks: a check runs once per set of settings (the
    profile's for that recommendation, then the user's --param), however many recommendations use it.

    A recommendation judges the containers its edition says (running ones, or all); with
    `every_container` (--all) every recommendation judges all that were collected."""
    cache: dict[tuple[str, str, str], CheckResult] = {}
    params = params or {}
    views: dict[str, Facts] = {"all": facts}

    def facts_for(rec: Optional[Recommendation]) -> tuple[str, Facts]:
        if every_container or rec is None or rec.containers == "all" or facts.containers.scope != "all":
            return "all", facts
        if "running" not in views:
            views["running"] = running_only(facts)
        return "running", views["running"]

    def result_of(check_id: str, rec: Optional[Recommendation] = None) -> CheckResult:
        check = checks.get(check_id)
        if check is None:
            return CheckResult(check_id, Status.ERROR, f"no check named {check_id!r} is loaded")
        try:
            given = _profile_params(check, rec.params.get(check_id, {})) if rec else {}
        except ValueError as exc:
            # Run with its defaults, the check could PASS where the profile's setting would FAIL.
            return CheckResult(check_id, Status.ERROR, f"the profile's params for {check_id} do not fit: {exc}")
        merged = {**given, **params.get(check_id, {})}
        scope, seen = facts_for(rec) if "containers" in check.needs else ("all", facts)
        key = (check_id, scope, repr(sorted(merged.items())))
        if key not in cache:
            cache[key] = run_check(check, seen, merged)
        return cache[key]

    results = [_unseen_stopped(rec, checks, facts, combine(rec, [result_of(c, rec) for c in rec.checks]))
               for rec in recommendations]
    for check in extra_checks:
        rec = Recommendation(id=check.id, section="custom", title=check.title, scored=True, level=1,
                             checks=(check.id,), remediation="", automation="automated", label="custom")
        results.append(combine(rec, [result_of(check.id)]))
    return results


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def build_report(profile: Profile, results: list[RecommendationResult], facts: Facts, started_at: str,
                 facts_source: str = "live", notes: Optional[list[str]] = None,
                 checks: Optional[dict[str, Check]] = None) -> Report:
    sections = dict(profile.sections)
    if any(r.section == "custom" for r in results):
        sections["custom"] = "Checks outside the profile"
    version = facts.engine.version.get("Version") if facts.engine.version else None
    hostname = facts.host.hostname or (facts.engine.info.get("Name") if facts.engine.info else "") or "unknown"
    all_notes = list(notes or [])
    all_notes += facts.containers.notes
    findings, disagreements = _daemon_findings(facts)
    return Report(
        tool_name=TOOL_NAME, tool_version=__version__, profile_id=profile.id, profile_title=profile.title,
        hostname=hostname, docker_version=version, started_at=started_at, finished_at=now(),
        results=results, sections=sections, notes=all_notes, facts_source=facts_source,
        checks=_check_info(results, checks or {}), daemon_findings=findings, daemon_disagreements=disagreements,
        profile_edition=profile.edition, profile_labels=profile.labels)


def _daemon_findings(facts: Facts) -> tuple[list[str], list[str]]:
    """What the report says about the daemon, and which of those lines are settings its files
    declare otherwise than the running daemon reports."""
    if facts.daemon.unavailable():
        return [], []
    from bench.daemon.view import daemon_view

    view = daemon_view(facts)
    return list(view.findings), list(view.disagreements)


def _check_info(results: list[RecommendationResult], checks: dict[str, Check]) -> dict[str, CheckInfo]:
    info = {}
    for result in results:
        for check_id in result.checks:
            check = checks.get(check_id)
            if check is not None and check_id not in info:
                info[check_id] = CheckInfo(check.id, check.title, check.description, check.rationale,
                                           tuple(check.references))
    return info
