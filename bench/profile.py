"""Benchmark profiles: a CIS version's numbering, titles, scored and level flags, mapped to checks."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from bench.errors import FileInputError
from bench.paths import profiles_dir
from bench.yaml_checks import SLUG
from bench.yamlfile import parse_yaml

DEFAULT_PROFILE = "cis-docker-1.11.0"
AUTOMATION = ("automated", "partial", "manual")


class ProfileError(FileInputError):
    """A profile cannot be used; the message names file, line, recommendation and field."""

    entry_kind = "recommendation"


@dataclass(frozen=True)
class Recommendation:
    id: str
    section: str
    title: str
    scored: bool
    level: int
    checks: tuple[str, ...]
    remediation: str
    automation: str
    audit: str = ""


@dataclass(frozen=True)
class Profile:
    id: str
    title: str
    sections: dict[str, str]
    recommendations: tuple[Recommendation, ...]
    path: str

    def get(self, rec_id: str) -> Optional[Recommendation]:
        for rec in self.recommendations:
            if rec.id == rec_id:
                return rec
        return None


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
        raise ProfileError(None, f"no profile {name!r} (shipped profiles: {known}; or give a path to a YAML file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(str(path), f"cannot read: {exc}") from None
    display = path.name if path.parent == profiles_dir() else str(path)
    return parse_profile(parse_yaml(text, display, ProfileError), display)


def parse_profile(data: Any, path: str) -> Profile:
    def fail(message: str, rec: Optional[str] = None, field: Optional[str] = None, line: Optional[int] = None) -> ProfileError:
        return ProfileError(path, message, line=line, entry=rec, field=field)

    if not isinstance(data, dict):
        raise fail("a profile is a mapping with id, title, sections and recommendations")
    known = {"id", "title", "sections", "recommendations", "description"}
    for key in data:
        if key not in known:
            raise fail(f"unknown key (known: {', '.join(sorted(known))})", field=str(key))
    profile_id, title = data.get("id"), data.get("title")
    if not isinstance(profile_id, str) or not isinstance(title, str):
        raise fail("id and title are required strings")
    sections_raw = data.get("sections")
    if not isinstance(sections_raw, dict) or not sections_raw:
        raise fail("sections: a mapping of section id to title", field="sections")
    sections = {str(k): str(v) for k, v in sections_raw.items()}
    recs_raw = data.get("recommendations")
    if not isinstance(recs_raw, list) or not recs_raw:
        raise fail("recommendations: a non-empty list", field="recommendations")
    rec_fields = {"id", "title", "scored", "level", "checks", "remediation", "automation", "audit"}
    recs = []
    seen = set()
    for entry in recs_raw:
        line = getattr(entry, "line", None)
        if not isinstance(entry, dict):
            raise fail("each recommendation is a mapping", line=line)
        rec_id = entry.get("id")
        if not isinstance(rec_id, str) or not rec_id:
            raise fail("id is required and must be a quoted string such as '5.4'", field="id", line=line)
        lines = getattr(entry, "key_lines", {})

        def rfail(field: str, message: str, rec_id: str = rec_id, lines: dict = lines,
                  line: Optional[int] = line) -> ProfileError:
            return fail(message, rec=rec_id, field=field, line=lines.get(field, line))

        for key in entry:
            if key not in rec_fields:
                raise rfail(str(key), f"unknown field (known: {', '.join(sorted(rec_fields))})")
        if rec_id in seen:
            raise rfail("id", "duplicate recommendation id")
        seen.add(rec_id)
        section = rec_id.split(".", 1)[0]
        if section not in sections:
            raise rfail("id", f"section {section!r} is not among the profile's sections")
        if not isinstance(entry.get("title"), str):
            raise rfail("title", "required string")
        if not isinstance(entry.get("scored"), bool):
            raise rfail("scored", "required: true or false")
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
        recs.append(Recommendation(
            id=rec_id, section=section, title=entry["title"], scored=entry["scored"], level=level,
            checks=tuple(checks), remediation=entry.get("remediation", ""), automation=automation,
            audit=entry.get("audit", "")))
    return Profile(profile_id, title, sections, tuple(recs), path)


def check_references(profile: Profile, check_ids: Iterable[str]) -> None:
    known = set(check_ids)
    for rec in profile.recommendations:
        for slug in rec.checks:
            if slug not in known:
                raise ProfileError(profile.path, f"no check named {slug!r}", entry=rec.id, field="checks")
