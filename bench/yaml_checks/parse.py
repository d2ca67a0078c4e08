"""Reading a check file: every entry validated against its target's description (targets.py), then
compiled into a Check like any Python one. A malformed file is refused with CheckFileError naming
the file, line, check and field."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Optional

from bench.check import Check
from bench.facts import Facts
from bench.operators import AUDIT_OPERATORS, OPERATORS, OperandError
from bench.results import CheckResult
from bench.status import CHECK_STATUSES, Status
from bench.yaml_checks.params import prepare_override
from bench.yaml_checks.spec import CheckFileError, YamlCheckSpec
from bench.yaml_checks.targets import TARGETS
from bench.yamlfile import parse_yaml

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
COMMON_FIELDS = ("id", "title", "target", "op", "value", "description", "rationale", "references", "on_fail")


def load_check_file(text: str, path: str) -> list[Check]:
    data = parse_yaml(text, path, CheckFileError)
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) - {"checks"}:
        extra = sorted(str(k) for k in set(data) - {"checks"}) if isinstance(data, dict) else []
        what = f"unknown top-level key {extra[0]!r}" if extra else "the file must be a mapping with a 'checks' list"
        raise CheckFileError(path, what, line=getattr(data, "key_lines", {}).get(extra[0]) if extra else None)
    entries = data.get("checks")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise CheckFileError(path, "'checks' must be a list", line=data.key_lines.get("checks"), field="checks")
    checks: list[Check] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        spec = _parse_spec(entry, path, index)
        if spec.id in seen:
            raise CheckFileError(path, f"duplicate check id (first defined on line {seen[spec.id]})",
                                 line=entry.line, check=spec.id, field="id")
        seen[spec.id] = entry.line
        checks.append(compile_check(spec))
    return checks


def _parse_spec(entry: Any, path: str, index: int) -> YamlCheckSpec:
    if not isinstance(entry, dict):
        raise CheckFileError(path, f"check #{index + 1} must be a mapping", line=getattr(entry, "line", None))
    lines = getattr(entry, "key_lines", {})
    line = getattr(entry, "line", None)
    raw_id = entry.get("id")
    check_name = raw_id if isinstance(raw_id, str) else f"#{index + 1}"

    def fail(field: str, message: str) -> CheckFileError:
        return CheckFileError(path, message, line=lines.get(field, line), check=check_name, field=field)

    for key in entry:
        if not isinstance(key, str):
            raise fail(str(key), "field names must be strings")
    if not isinstance(raw_id, str):
        raise fail("id", "required, a string such as 'daemon-icc-disabled'")
    if not SLUG.match(raw_id):
        raise fail("id", "must be lower-case letters, digits and dashes (2 to 80 characters)")
    title = entry.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail("title", "required, a non-empty string")
    target_name = entry.get("target")
    if not isinstance(target_name, str) or target_name not in TARGETS:
        raise fail("target", f"must be one of {', '.join(TARGETS)}, not {target_name!r}")
    target = TARGETS[target_name]
    allowed = COMMON_FIELDS + target.fields
    for key in entry:
        if key not in allowed:
            raise fail(key, f"unknown field for target {target_name} (known: {', '.join(sorted(allowed))})")

    op_name = entry.get("op")
    if not isinstance(op_name, str) or op_name not in OPERATORS:
        raise fail("op", f"unknown operator {op_name!r} (known: {', '.join(sorted(OPERATORS))})")
    op = OPERATORS[op_name]
    if op.takes_value and "value" not in entry:
        raise fail("value", f"operator {op_name} needs a value")
    if not op.takes_value and "value" in entry:
        raise fail("value", f"operator {op_name} takes no value")
    try:
        expected = op.prepare(entry.get("value"))
    except OperandError as exc:
        raise fail("value", f"operator {op_name} {exc}") from None

    field = entry.get("field")
    if field is not None and (not isinstance(field, str) or not field.strip()):
        raise fail("field", "must be a non-empty string")
    if (target_name == "audit") != (op_name in AUDIT_OPERATORS):
        raise fail("op", "target audit takes op watched, and op watched needs target audit")
    files = target.validate(entry, op_name, field, fail)

    def status_field(name: str, allowed_statuses: tuple[Status, ...], default: Optional[Status]) -> Optional[Status]:
        if name not in entry:
            return default
        raw = entry[name]
        names = [s.value for s in allowed_statuses]
        if not isinstance(raw, str) or raw.upper() not in names:
            raise fail(name, f"must be one of {', '.join(names)}, not {raw!r}")
        return Status(raw.upper())

    for text_field in ("description", "rationale"):
        if not isinstance(entry.get(text_field, ""), str):
            raise fail(text_field, "must be a string")
    references = entry.get("references", [])
    if not isinstance(references, list) or not all(isinstance(r, str) and r.strip() for r in references):
        raise fail("references", "must be a list of URLs or citations")
    default = dict(entry["default"]) if isinstance(entry.get("default"), dict) else entry.get("default")
    return YamlCheckSpec(
        id=raw_id, title=title.strip(), target=target_name, op=op, expected=expected, field=field, files=files,
        has_default="default" in entry, default=default,
        when_absent=status_field("when_absent", CHECK_STATUSES, None),
        when_missing=status_field("when_missing", CHECK_STATUSES, Status.SKIP) or Status.SKIP,
        on_fail=status_field("on_fail", (Status.FAIL, Status.WARN, Status.INFO), Status.FAIL) or Status.FAIL,
        source=f"{path}:{line}", description=entry.get("description", "").strip(),
        rationale=entry.get("rationale", "").strip(), references=tuple(r.strip() for r in references),
        when_rootless=status_field("when_rootless", CHECK_STATUSES, None))


def compile_check(spec: YamlCheckSpec) -> Check:
    evaluate = TARGETS[spec.target].evaluate

    def run(facts: Facts, params: dict[str, Any]) -> CheckResult:
        actual = spec
        if "value" in params and params["value"] is not spec.expected:
            actual = replace(spec, expected=params["value"])
        return evaluate(actual, facts)

    def prepare(name: str, value: Any) -> Any:
        try:
            return prepare_override(spec, value)
        except OperandError as exc:
            raise ValueError(f"operator {spec.op.name} {exc}") from None

    return Check(id=spec.id, title=spec.title, needs=TARGETS[spec.target].needs, wants=TARGETS[spec.target].wants,
                 run=run, source=spec.source,
                 kind="yaml", target=spec.target, paths=tuple(f for f in spec.files if f.startswith("/")),
                 params={"value": spec.expected} if spec.op.takes_value else {}, prepare=prepare,
                 description=spec.description, rationale=spec.rationale, references=spec.references)
