"""Which recommendations an audit evaluates, and which checks that takes.

`--check` and `--skip` name CIS ids ("5.4"), whole sections ("5") or check ids; `--level` keeps
level 1, or levels 1 and 2. Checks that a user's folder or a plugin adds and the profile does not
map are reported on their own, in a section "custom", and can be chosen by their id too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

from bench.catalog import CheckSet
from bench.check import Check
from bench.errors import InputError
from bench.profile import Profile, Recommendation, check_params


class SelectionError(InputError):
    """--check / --skip named something the profile does not have."""


@dataclass
class Selection:
    recommendations: list[Recommendation]
    extra_checks: list[Check] = field(default_factory=list)   # checks outside the profile

    def checks(self, catalog: CheckSet) -> list[Check]:
        """Every check the selection evaluates (a check shared by recommendations appears once per use)."""
        return [catalog[slug] for rec in self.recommendations for slug in rec.checks] + self.extra_checks


def select_recommendations(profile: Profile, include: Iterable[str] = (), exclude: Iterable[str] = (),
                           level: Optional[int] = None) -> list[Recommendation]:
    """Recommendations chosen by CIS id ("5.4"), whole section ("5") or check id, and level.

    Level 2 of the benchmark extends level 1, so --level 2 keeps both and --level 1 only level 1.
    """
    def matches(token: str) -> set[str]:
        token = token.strip()
        hit = {r.id for r in profile.recommendations
               if r.id == token or r.section == token or token in r.checks}
        if not hit:
            raise SelectionError(f"{token!r} is neither a recommendation, a section nor a check of {profile.id}")
        return hit

    include = [t for t in include if t.strip()]
    chosen = set().union(*(matches(t) for t in include)) if include else {r.id for r in profile.recommendations}
    for token in exclude:
        if token.strip():
            chosen -= matches(token)
    return [r for r in profile.recommendations
            if r.id in chosen and (level is None or r.level <= level)]


def selection_for(profile: Profile, catalog: CheckSet, include: list[str], exclude: list[str],
           level: Optional[int] = None) -> Selection:
    """The recommendations and the extra checks that --check, --skip and --level leave.

    The profile's settings are checked against the catalog here, whatever is selected: the audit
    selects before it collects, so a setting no check takes stops it before any work."""
    check_params(profile, catalog)
    referenced = {slug for rec in profile.recommendations for slug in rec.checks}
    extras = [c for c in catalog if c.id not in referenced and c.id not in catalog.builtin_ids]
    extra_ids = {c.id for c in extras}
    recs = select_recommendations(profile, [t for t in include if t not in extra_ids],
                                  [t for t in exclude if t not in extra_ids], level)
    if include:
        # Naming only extra checks evaluates only those.
        recs = recs if any(t not in extra_ids for t in include) else []
        extras = [c for c in extras if c.id in include]
    return Selection(recs, [c for c in extras if c.id not in exclude])
