"""Every check, on a passing and a failing host (Checkov-style fixtures in tests/check_fixtures/)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.evaluate import run_check
from bench.catalog import load_checks
from bench.status import Status
from helpers import apply_case, facts_of, hardened_data

FIXTURE_DIR = Path(__file__).parent / "check_fixtures"
CASE_KEYS = {"name", "facts", "argv", "daemon_json", "daemon_json_text", "running", "file", "container", "expect",
             "detail", "resource", "params"}


def _fixture(check_id: str) -> dict:
    path = FIXTURE_DIR / f"{check_id}.yaml"
    assert path.exists(), f"check {check_id} has no fixture file {path.name}"
    return yaml.safe_load(path.read_text()) or {}


def _cases():
    for check in sorted(load_checks(plugins=False), key=lambda c: c.id):
        data = _fixture(check.id) if (FIXTURE_DIR / f"{check.id}.yaml").exists() else {}
        for kind in ("pass", "fail"):
            for case in data.get(kind) or []:
                yield pytest.param(check.id, kind, case, id=f"{check.id}-{kind}-{case.get('name', '?')}")


def test_every_check_has_a_passing_and_a_failing_fixture():
    missing = []
    for check in load_checks(plugins=False):
        path = FIXTURE_DIR / f"{check.id}.yaml"
        data = yaml.safe_load(path.read_text()) if path.exists() else {}
        if not (data or {}).get("pass") or not (data or {}).get("fail"):
            missing.append(check.id)
    assert not missing, f"checks without both pass and fail fixtures: {', '.join(sorted(missing))}"


def test_no_fixture_for_a_check_that_does_not_exist():
    ids = {c.id for c in load_checks(plugins=False)}
    orphans = [p.stem for p in FIXTURE_DIR.glob("*.yaml") if p.stem not in ids]
    assert not orphans


@pytest.mark.parametrize("check_id,kind,case", list(_cases()))
def test_check_fixture(checks, check_id, kind, case):
    unknown = set(case) - CASE_KEYS
    assert not unknown, f"unknown fixture keys {unknown}"
    facts = facts_of(apply_case(hardened_data(), case))
    check = checks[check_id]
    result = run_check(check, facts, case.get("params"))
    expected = Status(case.get("expect", "PASS" if kind == "pass" else "FAIL"))
    shown = f"{result.status}: {result.details} {[(i.resource, i.status.value, i.detail) for i in result.items]}"
    assert result.status == expected, shown
    if "detail" in case:
        texts = [result.details] + [i.detail for i in result.items]
        assert any(case["detail"] in t for t in texts), shown
    if "resource" in case:
        flagged = [i.resource for i in result.items if i.status == expected]
        assert case["resource"] in flagged, shown


def test_every_shipped_check_says_what_it_inspects_why_and_where_to_read_more():
    lacking = [c.id for c in load_checks(plugins=False)
               if not (c.description.strip() and c.rationale.strip() and c.references
                       and all(r.startswith("https://") for r in c.references))]
    assert not lacking, f"checks without description, rationale or https references: {', '.join(sorted(lacking))}"
