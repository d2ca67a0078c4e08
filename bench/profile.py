"""Benchmark profiles: one CIS edition's numbering, titles, levels and labels, mapped onto checks.

Two kinds of label exist. CIS Docker 1.11.0 marks each recommendation Scored or Not Scored, and a
violated Not Scored one is advice (WARN). Later editions (v1.6.0 on) mark them Automated or Manual,
which says whether CIS's own tool automates the audit, not whether a violation counts: where the
facts decide, a violation is FAIL whatever the label (`labels: assessment`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from bench.errors import FileInputError
from bench.paths import profiles_dir
from bench.versions import VersionError, at_least, parse_version
from bench.yaml_checks import SLUG
from bench.yaml_checks.params import param_value, unknown_param
from bench.yamlfile import parse_yaml

DEFAULT_PROFILE = "cis-docker-1.11.0"
AUTOMATION = ("automated", "partial", "manual")
LABELS = ("scored", "assessment")
ASSESSMENTS = {"automated": "Automated", "manual": "Manual"}


class ProfileError(FileInputError):
    """A profile cannot be used; the message names file, line, recommendation and field."""

    entry_kind = "recommendation"


@dataclass(frozen=True)
class Recommendation:
    id: str
    section: str
    title: str
    scored: bool              # the score counts it (every recommendation of an assessment edition)
    level: int
    checks: tuple[str, ...]
    remediation: str
    automation: str           # what the auditor does: automated, partial (verdict + evidence), manual
    audit: str = ""
    label: str = ""           # the edition's own: Scored, Not Scored, Automated, Manual
    advisory: bool = False    # a violation is advice (WARN): Not Scored in 1.11.0
    params: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False, compare=False)
    same_as: dict[str, str] = field(default_factory=dict, hash=False, compare=False)   # profile id -> rec id
    # Which containers the edition judges: those running (1.11.0's `docker ps`) or all of them,
    # stopped ones included (the `docker ps --all` of v1.7.0's audits).
    containers: str = "running"
    # The line of each setting (check id, name) and of each check's settings (check id, ""), so
    # that a setting the check refuses, found once the catalog is loaded, names its line.
    param_lines: dict[tuple[str, str], int] = field(default_factory=dict, hash=False, compare=False, repr=False)


@dataclass(frozen=True)
class Profile:
    id: str
    title: str
    sections: dict[str, str]
    recommendations: tuple[Recommendation, ...]
    path: str
    edition: str = ""
    published: str = ""
    labels: str = "scored"
    engines: str = ""          # the oldest engine the edition is written for
    engines_max: str = ""      # the newest, where the edition says
    containers: str = "running"   # the default of its recommendations

    def wants_all_containers(self) -> bool:
        return any(rec.containers == "all" for rec in self.recommendations)

    def get(self, rec_id: str) -> Optional[Recommendation]:
        for rec in self.recommendations:
            if rec.id == rec_id:
                return rec
        return None

    def covers(self, engine_version: str) -> bool:
        """Whether the edition is written for this engine version."""
        try:
            have = parse_version(engine_version)
            low = parse_version(self.engines) if self.engines else (0,)
        except VersionError:
            return False
        if not at_least(have, low):
            return False
        if self.engines_max:
            try:
                return at_least(parse_version(self.engines_max) + (999,), have)
            except VersionError:
                return False
        return True


def available_profiles() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.yaml"))


def profile_path(name: str) -> Path:
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") or "/" in name:
        return candidate
    return profiles_dir() / f"{name}.yaml"


def load_profile(name: str = DEFAULT_PROFILE) -> Profile:
    path = profile_path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = ", ".join(available_profiles()) or "none"
        raise ProfileError(None, f"no profile {name!r} (shipped profiles: {known}, or auto; "
                                 "or give a path to a YAML file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(str(path), f"cannot read: {exc}") from None
    display = path.name if path.parent == profiles_dir() else str(path)
    return parse_profile(parse_yaml(text, display, ProfileError), display)


def load_all_profiles() -> list[Profile]:
    return [load_profile(name) for name in available_profiles()]


_TOP = {"id", "title", "sections", "recommendations", "description", "edition", "published", "labels", "engines",
        "engines_max", "containers"}
_REC = {"id", "title", "scored", "assessment", "level", "checks", "remediation", "automation", "audit", "params",
        "same_as", "containers"}
CONTAINER_SCOPES = ("running", "all")


def parse_profile(data: Any, path: str) -> Profile:
    def fail(message: str, rec: Optional[str] = None, field: Optional[str] = None, line: Optional[int] = None) -> ProfileError:
        return ProfileError(path, message, line=line, entry=rec, field=field)

    if not isinstance(data, dict):
        raise fail("a profile is a mapping with id, title, sections and recommendations")
    for key in data:
        if key not in _TOP:
            raise fail(f"unknown key (known: {', '.join(sorted(_TOP))})", field=str(key),
                       line=getattr(data, "key_lines", {}).get(key))
    profile_id, title = data.get("id"), data.get("title")
    if not isinstance(profile_id, str) or not isinstance(title, str):
        raise fail("id and title are required strings")
    labels = data.get("labels", "scored")
    if labels not in LABELS:
        raise fail(f"one of {', '.join(LABELS)}", field="labels")
    for text_key in ("edition", "published", "engines", "engines_max"):
        value = data.get(text_key)
        if value is not None and not isinstance(value, str):
            raise fail("a quoted string", field=text_key)
    containers = data.get("containers", "running")
    if containers not in CONTAINER_SCOPES:
        raise fail(f"one of {', '.join(CONTAINER_SCOPES)}", field="containers",
                   line=getattr(data, "key_lines", {}).get("containers"))
    sections_raw = data.get("sections")
    if not isinstance(sections_raw, dict) or not sections_raw:
        raise fail("sections: a mapping of section id to title", field="sections")
    sections = {str(k): str(v) for k, v in sections_raw.items()}
    recs_raw = data.get("recommendations")
    if not isinstance(recs_raw, list) or not recs_raw:
        raise fail("recommendations: a non-empty list", field="recommendations")
    recs, seen = [], set()
    for entry in recs_raw:
        rec = _recommendation(entry, sections, labels, fail, containers)
        if rec.id in seen:
            raise fail("duplicate recommendation id", rec=rec.id, field="id", line=getattr(entry, "line", None))
        seen.add(rec.id)
        recs.append(rec)
    return Profile(profile_id, title, sections, tuple(recs), path, edition=data.get("edition") or "",
                   published=data.get("published") or "", labels=labels, engines=data.get("engines") or "",
                   engines_max=data.get("engines_max") or "", containers=containers)


def _recommendation(entry: Any, sections: dict[str, str], labels: str, fail: Any,
                    containers: str = "running") -> Recommendation:
    line = getattr(entry, "line", None)
    if not isinstance(entry, dict):
        raise fail("each recommendation is a mapping", line=line)
    rec_id = entry.get("id")
    if not isinstance(rec_id, str) or not rec_id:
        raise fail("id is required and must be a quoted string such as '5.4'", field="id", line=line)
    lines = getattr(entry, "key_lines", {})

    def rfail(field: str, message: str) -> ProfileError:
        return fail(message, rec=rec_id, field=field, line=lines.get(field, line))

    for key in entry:
        if key not in _REC:
            raise rfail(str(key), f"unknown field (known: {', '.join(sorted(_REC))})")
    section = rec_id.split(".", 1)[0]
    if section not in sections:
        raise rfail("id", f"section {section!r} is not among the profile's sections")
    if not isinstance(entry.get("title"), str):
        raise rfail("title", "required string")
    if labels == "scored":
        if not isinstance(entry.get("scored"), bool):
            raise rfail("scored", "required: true or false")
        scored, label = entry["scored"], "Scored" if entry["scored"] else "Not Scored"
        advisory = not scored
    else:
        if entry.get("assessment") not in ASSESSMENTS:
            raise rfail("assessment", f"required: one of {', '.join(ASSESSMENTS)}")
        if "scored" in entry:
            raise rfail("scored", "an edition labelled by assessment has no scored flag")
        scored, label, advisory = True, ASSESSMENTS[entry["assessment"]], False
    level = entry.get("level")
    if level not in (1, 2):
        raise rfail("level", "required: 1 or 2")
    checks = entry.get("checks")
    if not isinstance(checks, list) or not checks or not all(isinstance(c, str) and SLUG.match(c) for c in checks):
        raise rfail("checks", "required: a non-empty list of check ids")
    automation = entry.get("automation", "automated")
    if automation not in AUTOMATION:
        raise rfail("automation", f"one of {', '.join(AUTOMATION)}")
    for text_field in ("remediation", "audit"):
        if not isinstance(entry.get(text_field, ""), str):
            raise rfail(text_field, "must be a string")
    params, param_lines = _params(entry, rec_id, checks, fail, lines.get("params", line))
    scope = entry.get("containers", containers)
    if scope not in CONTAINER_SCOPES:
        raise rfail("containers", f"one of {', '.join(CONTAINER_SCOPES)}")
    same_as = entry.get("same_as", {})
    if not isinstance(same_as, dict) or not all(isinstance(v, str) for v in same_as.values()):
        raise rfail("same_as", "a mapping of profile ids to recommendation ids (\"\" where absent)")
    return Recommendation(
        id=rec_id, section=section, title=entry["title"], scored=scored, level=level, checks=tuple(checks),
        remediation=entry.get("remediation", ""), automation=automation, audit=entry.get("audit", ""),
        label=label, advisory=advisory, params=params,
        same_as={str(k): str(v) for k, v in same_as.items()}, containers=scope, param_lines=param_lines)


def _params(entry: Any, rec_id: str, checks: list[str], fail: Any,
            line: Optional[int]) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], int]]:
    """A recommendation's `params` (check id -> setting -> value) and the line of each part; what
    each check makes of its settings is known only with the catalog (check_params)."""
    raw = entry.get("params", {})
    if not isinstance(raw, dict):
        raise fail("a mapping of this recommendation's check ids to their settings", rec=rec_id, field="params",
                   line=line)
    params: dict[str, dict[str, Any]] = {}
    lines: dict[tuple[str, str], int] = {}
    for check_id, settings in raw.items():
        at = getattr(raw, "key_lines", {}).get(check_id, line)
        if check_id not in checks:
            raise fail(f"{str(check_id)!r} is not one of this recommendation's checks ({', '.join(checks)})",
                       rec=rec_id, field="params", line=at)
        if not isinstance(settings, dict):
            raise fail(f"settings of {check_id}: a mapping of parameter names to values", rec=rec_id,
                       field="params", line=at)
        lines[(check_id, "")] = at
        for name in settings:
            lines[(check_id, str(name))] = getattr(settings, "key_lines", {}).get(name, at)
        params[check_id] = {str(name): value for name, value in settings.items()}
    return params, lines


def check_references(profile: Profile, check_ids: Iterable[str]) -> None:
    known = set(check_ids)
    for rec in profile.recommendations:
        for slug in rec.checks:
            if slug not in known:
                raise ProfileError(profile.path, f"no check named {slug!r}", entry=rec.id, field="checks")


def check_params(profile: Profile, catalog: Any) -> None:
    """Every recommendation's settings are settings its checks take, with values they accept (as
    --param's are): a misspelt name would leave the check at its default, which can PASS where the
    intended setting would FAIL. `catalog` maps check ids to checks."""
    for rec in profile.recommendations:
        for check_id, settings in rec.params.items():
            if check_id not in catalog:
                continue   # check_references names it
            check = catalog[check_id]
            for name, value in settings.items():
                line = rec.param_lines.get((check_id, name), rec.param_lines.get((check_id, "")))
                problem = unknown_param(check, name)
                if not problem:
                    try:
                        param_value(check, name, value)
                    except ValueError as exc:
                        problem = f"{check_id}.{name}: {exc}"
                if problem:
                    raise ProfileError(profile.path, problem, line=line, entry=rec.id, field="params")


def concordance(profiles: Iterable[Profile]) -> dict[str, dict[str, dict[str, str]]]:
    """profile id -> rec id -> {other profile id: its id}, from every same_as, read both ways."""
    table: dict[str, dict[str, dict[str, str]]] = {}
    for profile in profiles:
        for rec in profile.recommendations:
            for other, other_id in rec.same_as.items():
                if not other_id:
                    continue
                table.setdefault(profile.id, {}).setdefault(rec.id, {})[other] = other_id
                table.setdefault(other, {}).setdefault(other_id, {}).setdefault(profile.id, rec.id)
    return table


def edition_for(engine_version: str, profiles: Iterable[Profile]) -> tuple[Optional[Profile], str]:
    """The edition `--profile auto` picks for an engine, and why: the newest written for it; an
    engine no edition is written for gets the newest edition older than it, and the reason says so."""
    # Newest first by publication: the editions' own numbers restarted (1.11.0 in 2016, v1.8.0 in 2025).
    ranked = sorted(profiles, key=lambda p: p.published, reverse=True)
    for profile in ranked:
        if profile.covers(engine_version):
            return profile, f"engine {engine_version} is one {profile.id} is written for ({_range(profile)})"
    older = [p for p in ranked if p.engines and _older_than(p.engines, engine_version)]
    if older:
        return older[0], (f"no edition is written for engine {engine_version}; {older[0].id} is the newest "
                          f"written for an older one ({_range(older[0])})")
    return (ranked[0] if ranked else None), f"the engine's version ({engine_version or 'unknown'}) cannot be matched"


def better_edition(profile: Profile, engine_version: str, profiles: Iterable[Profile]) -> str:
    """A line for the reader when `profile` is not written for the engine and another edition is:
    "" otherwise."""
    if not engine_version or profile.covers(engine_version):
        return ""
    best, _ = edition_for(engine_version, [p for p in profiles if p.covers(engine_version)])
    if best is None or best.id == profile.id:
        return ""
    return (f"Engine {engine_version} is far newer than {profile.title} was written for: "
            f"--profile {best.id} (or --profile auto) matches it.")


def _older_than(version: str, engine: str) -> bool:
    try:
        return at_least(parse_version(engine), parse_version(version))
    except VersionError:
        return False


def _range(profile: Profile) -> str:
    if profile.engines_max and profile.engines_max != profile.engines:
        return f"Engine {profile.engines} to {profile.engines_max}"
    if profile.engines_max:
        return f"Engine {profile.engines}"
    return f"Engine {profile.engines} and later"
