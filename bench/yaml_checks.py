"""Checks declared in YAML: a target, a field and a comparison from bench/operators.py.

A check file looks like:

    checks:
      - id: daemon-icc-disabled
        title: Inter-container communication on the default bridge is off
        target: daemon          # daemon | engine | file | container | image | host
        field: icc              # daemon.json key / inspect path / ...
        op: equals
        value: false
        default: true           # what an unset field means (dockerd's default)

A malformed file is rejected with CheckFileError naming the file, line, check and field.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Optional

import yaml

from bench.check import MISSING, Check, Container, lookup, no_containers
from bench.daemon_config import OPTION_KINDS, config_of, format_value
from bench.facts import Facts, FileFacts
from bench.operators import AUDIT_OPERATORS, FILE_OPERATORS, OPERATORS, OperandError, Operator
from bench.results import CheckResult, Item, Outcome, rollup, skipped
from bench.serde import to_data
from bench.status import Status

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
TARGETS = ("daemon", "engine", "file", "audit", "container", "image", "host")
NEEDS = {"daemon": ("daemon",), "engine": ("engine",), "file": ("files",), "audit": ("audit", "files"),
         "container": ("containers",), "image": ("images",), "host": ("host",)}
COMMON_FIELDS = ("id", "title", "target", "op", "value", "description", "on_fail")
TARGET_FIELDS = {
    "daemon": ("field", "default", "when_absent"),
    "engine": ("field", "default", "when_absent"),
    "container": ("field", "default", "when_absent"),
    "image": ("field", "default", "when_absent"),
    "host": ("field", "default", "when_absent"),
    "file": ("file", "field", "when_missing", "when_rootless"),
    "audit": ("file", "when_missing"),
}
FILE_FIELDS = ("kind", "mode", "uid", "gid", "owner", "group", "link")
MAX_SHOWN = 200


class CheckFileError(ValueError):
    """A check file cannot be used. The message names file, line, check and field."""

    def __init__(self, path: str, message: str, line: Optional[int] = None, check: Optional[str] = None,
                 field: Optional[str] = None):
        self.path, self.line, self.check, self.field = path, line, check, field
        where = path if line is None else f"{path}:{line}"
        parts = [where]
        if check:
            parts.append(f"check {check!r}")
        if field:
            parts.append(f"field {field!r}")
        super().__init__(", ".join(parts) + ": " + message)


class _LineMap(dict):
    """A YAML mapping that remembers the line of each key."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.key_lines: dict[Any, int] = {}


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int):
        self.key, self.line = key, line


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _construct_mapping(loader: Any, node: Any) -> _LineMap:
    loader.flatten_mapping(node)
    result = _LineMap()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise _DuplicateKey(repr(key), key_node.start_mark.line + 1) from None
        if key in result:
            raise _DuplicateKey(key, key_node.start_mark.line + 1)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, path: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader with line tracking
    except _DuplicateKey as dup:
        raise CheckFileError(path, f"key {dup.key!r} appears twice", line=dup.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise CheckFileError(path, f"YAML syntax error: {exc.problem or exc}", line=line) from None
    except yaml.YAMLError as exc:
        # A ReaderError (a character YAML does not allow) has a position, not a mark; its text runs
        # over several lines, and the error must be one.
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckFileError(path, f"YAML error: {message}", line=line) from None
    except RecursionError:
        raise CheckFileError(path, "YAML nested too deeply") from None


@dataclass(frozen=True)
class YamlCheckSpec:
    id: str
    title: str
    target: str
    op: Operator
    expected: Any
    field: Optional[str]
    files: tuple[str, ...]
    has_default: bool
    default: Any
    when_absent: Optional[Status]
    when_missing: Status
    on_fail: Status
    description: str
    source: str
    when_rootless: Optional[Status] = None


def load_check_file(text: str, path: str) -> list[Check]:
    data = parse_yaml(text, path)
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
    target = entry.get("target")
    if target not in TARGETS:
        raise fail("target", f"must be one of {', '.join(TARGETS)}, not {target!r}")
    allowed = COMMON_FIELDS + TARGET_FIELDS[target]
    for key in entry:
        if key not in allowed:
            raise fail(key, f"unknown field for target {target} (known: {', '.join(sorted(allowed))})")

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
    files: tuple[str, ...] = ()
    if (target == "audit") != (op_name in AUDIT_OPERATORS):
        raise fail("op", "target audit takes op watched, and op watched needs target audit")
    if target in ("file", "audit"):
        raw_files = entry.get("file")
        if isinstance(raw_files, str):
            raw_files = [raw_files]
        if not isinstance(raw_files, list) or not raw_files or not all(isinstance(f, str) and f for f in raw_files):
            raise fail("file", "required: a file role (see `docker-cis-bench list --files`) or an absolute path, or a list")
        from bench.collect.files import ROLES

        for name in raw_files:
            if not name.startswith("/") and name not in ROLES:
                raise fail("file", f"unknown file role {name!r} (known: {', '.join(sorted(ROLES))}; or an absolute path)")
        files = tuple(raw_files)
        if target == "audit":
            pass
        elif op_name not in FILE_OPERATORS:
            if field is None:
                raise fail("field", f"operator {op_name} on a file needs a field ({', '.join(FILE_FIELDS)})")
            if field not in FILE_FIELDS:
                raise fail("field", f"files have the fields {', '.join(FILE_FIELDS)}")
        elif field is not None:
            raise fail("field", f"operator {op_name} reads the file itself; drop the field")
    else:
        if field is None:
            raise fail("field", f"required for target {target}")
        if op_name in FILE_OPERATORS:
            raise fail("op", f"operator {op_name} applies to files only")
        if target == "daemon" and field not in OPTION_KINDS:
            raise fail("field", f"{field!r} is not a dockerd option (use the daemon.json name, e.g. 'icc')")

    def status_field(name: str, allowed_statuses: tuple[Status, ...], default: Optional[Status]) -> Optional[Status]:
        if name not in entry:
            return default
        raw = entry[name]
        names = [s.value for s in allowed_statuses]
        if not isinstance(raw, str) or raw.upper() not in names:
            raise fail(name, f"must be one of {', '.join(names)}, not {raw!r}")
        return Status(raw.upper())

    when_absent = status_field("when_absent", tuple(Status), None)
    when_missing = status_field("when_missing", tuple(Status), Status.SKIP)
    when_rootless = status_field("when_rootless", tuple(Status), None)
    on_fail = status_field("on_fail", (Status.FAIL, Status.WARN, Status.INFO), Status.FAIL)
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "must be a string")
    if "default" in entry and isinstance(entry["default"], dict):
        default = dict(entry["default"])
    else:
        default = entry.get("default")
    return YamlCheckSpec(
        id=raw_id, title=title.strip(), target=target, op=op, expected=expected, field=field, files=files,
        has_default="default" in entry, default=default, when_absent=when_absent,
        when_missing=when_missing or Status.SKIP, on_fail=on_fail or Status.FAIL, description=description,
        source=f"{path}:{line}", when_rootless=when_rootless)


# -- evaluation -------------------------------------------------------------------------------------

def _shown(value: Any) -> str:
    text = format_value(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def judge(spec: YamlCheckSpec, value: Any, label: str, source: str = "") -> Outcome:
    """Compare one actual value (MISSING when unset) with the check's expectation."""
    suffix = f" ({source})" if source else ""
    if value is MISSING:
        if spec.has_default:
            value, suffix = spec.default, " (not set; default)"
        elif spec.when_absent is not None:
            return Outcome(spec.when_absent, f"{label} is not set")
        elif spec.op.absent_holds is not None:
            verdict = Status.PASS if spec.op.absent_holds else spec.on_fail
            return Outcome(verdict, f"{label} is not set" + ("" if spec.op.absent_holds else
                                                               f", expected {spec.op.describe(spec.expected)}"))
        else:
            return Outcome(Status.ERROR, f"{label} is not set and the check does not say what that means")
    shown = f"{label}={_shown(value)}{suffix}"
    if spec.op.test(value, spec.expected):
        return Outcome(Status.PASS, shown)
    return Outcome(spec.on_fail, f"{shown}, expected {spec.op.describe(spec.expected)}")


def compile_check(spec: YamlCheckSpec) -> Check:
    runner = {"daemon": _run_daemon, "engine": _run_engine, "host": _run_host, "container": _run_container,
              "image": _run_image, "file": _run_file, "audit": _run_file}[spec.target]

    def run(facts: Facts, params: dict[str, Any]) -> CheckResult:
        actual_spec = spec
        if "value" in params and params["value"] is not spec.expected:
            actual_spec = replace(spec, expected=params["value"])
        return runner(actual_spec, facts)

    def prepare(name: str, value: Any) -> Any:
        try:
            return prepare_override(spec, value)
        except OperandError as exc:
            raise ValueError(f"operator {spec.op.name} {exc}") from None

    paths = tuple(f for f in spec.files if f.startswith("/"))
    params = {"value": spec.expected} if spec.op.takes_value else {}
    return Check(spec.id, spec.title, NEEDS[spec.target], run, spec.source, "yaml", spec.target, paths, params,
                 prepare)


_TEXT_OPERANDS = ("version_at_least", "mode_at_most", "owned_by", "matches", "not_matches", "contains", "not_contains")


def prepare_override(spec: YamlCheckSpec, value: Any) -> Any:
    """An expected value given on the command line (text) in the form the operator wants."""
    if not isinstance(value, str):
        return spec.op.prepare(value)
    if spec.op.name in ("one_of", "none_of"):
        value = [_plain(v.strip()) for v in value.split(",")]
    elif spec.op.name not in _TEXT_OPERANDS:
        value = _plain(value)
    return spec.op.prepare(value)


def _plain(text: str) -> Any:
    """"5" -> 5, "true" -> True, anything else stays text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float, bool)) else text


def _single(spec: YamlCheckSpec, outcome: Outcome) -> CheckResult:
    return CheckResult(spec.id, outcome.status, outcome.detail, [])


def _run_daemon(spec: YamlCheckSpec, facts: Facts) -> CheckResult:
    config = config_of(facts)
    if config.error:
        return CheckResult(spec.id, Status.ERROR, config.error)
    assert spec.field is not None
    setting = config.get(spec.field)
    if setting is None:
        return _single(spec, judge(spec, MISSING, spec.field))
    return _single(spec, judge(spec, setting.value, spec.field, setting.source))


def _run_engine(spec: YamlCheckSpec, facts: Facts) -> CheckResult:
    data = {"info": facts.engine.info, "version": facts.engine.version}
    assert spec.field is not None
    return _single(spec, judge(spec, lookup(data, spec.field), spec.field))


def _run_host(spec: YamlCheckSpec, facts: Facts) -> CheckResult:
    assert spec.field is not None
    return _single(spec, judge(spec, lookup(to_data(facts.host), spec.field), spec.field))


def _run_container(spec: YamlCheckSpec, facts: Facts) -> CheckResult:
    assert spec.field is not None
    items = []
    for container_facts in facts.containers.items:
        if container_facts.error:
            items.append(Item(container_facts.name, Status.ERROR, container_facts.error))
            continue
        container = Container(container_facts)
        outcome = judge(spec, lookup(container.inspect, spec.field), spec.field)
        items.append(Item(container.name, outcome.status, outcome.detail))
    return rollup(spec.id, items, none=no_containers(facts))


def image_name(image: dict[str, Any]) -> str:
    tags = [t for t in image.get("RepoTags") or [] if t and t != "<none>:<none>"]
    if tags:
        return tags[0]
    return str(image.get("Id", "?")).replace("sha256:", "")[:12]


def _run_image(spec: YamlCheckSpec, facts: Facts) -> CheckResult:
    assert spec.field is not None
    items = []
    for image in facts.images.items:
        outcome = judge(spec, lookup(image, spec.field), spec.field)
        items.append(Item(image_name(image), outcome.status, outcome.detail))
    return rollup(spec.id, items, none=skipped("no images on this host"))


def file_value(spec: YamlCheckSpec, file: FileFacts) -> tuple[Any, str]:
    if spec.op.name == "mode_at_most":
        return file.mode, "mode"
    if spec.op.name == "owned_by":
        users = {str(file.uid)} | ({file.owner} if file.owner else set())
        groups = {str(file.gid)} | ({file.group} if file.group else set())
        return (users, groups), "owner"
    assert spec.field is not None
    value = getattr(file, spec.field)
    return (MISSING if value is None else value), spec.field


def describe_file_value(spec: YamlCheckSpec, file: FileFacts) -> str:
    if spec.op.name == "mode_at_most":
        if file.mode is None:
            return "mode unknown"
        return f"mode {file.mode:04o}" + (" (the sticky bit grants no access)" if file.mode & 0o1000 else "")
    if spec.op.name == "owned_by":
        return f"owner {file.owner or file.uid}:{file.group or file.gid}"
    return ""


def link_note(file: FileFacts) -> str:
    if file.link is None:
        return ""
    return f" (symlink to {file.link}; its target {file.resolved} was judged)"


def judge_file(spec: YamlCheckSpec, file: FileFacts, facts: Facts) -> Outcome:
    if file.error and spec.target != "audit":
        return Outcome(Status.ERROR, f"cannot examine: {file.error}")
    if not file.exists and not file.error:
        what = "dangling symlink" if file.kind == "symlink" else "does not exist"
        return Outcome(spec.when_missing, what)
    if spec.target == "audit":
        return judge_watch(file, facts.audit.rules, facts.audit.source)
    value, label = file_value(spec, file)
    if spec.op.name in FILE_OPERATORS:
        shown = describe_file_value(spec, file) + link_note(file)
        if spec.op.test(value, spec.expected):
            return Outcome(Status.PASS, shown)
        return Outcome(spec.on_fail, f"{shown}, expected {spec.op.describe(spec.expected)}")
    outcome = judge(spec, value, label)
    return Outcome(outcome.status, outcome.detail + link_note(file))


def judge_watch(file: FileFacts, rules: list[str], source: str) -> Outcome:
    from bench.audit_rules import parse_watches, watching

    names = [file.path] + ([file.resolved] if file.resolved else [])
    hits = watching(parse_watches(rules), names)
    if hits:
        return Outcome(Status.PASS, f"watched by `{hits[0].rule}` ({source})")
    return Outcome(Status.FAIL, f"no audit rule watches {file.path} ({source}: {len(rules)} rules)")


def _run_file(spec: YamlCheckSpec, facts: Facts) -> CheckResult:
    if spec.when_rootless is not None and not facts.daemon.unavailable() and facts.daemon.rootless:
        return CheckResult(spec.id, spec.when_rootless,
                           f"rootless daemon (uid {facts.daemon.uid}): its files belong to its user, not root")
    items: list[Item] = []
    reasons: list[str] = []
    for name in spec.files:
        if name.startswith("/"):
            paths = [name]
        elif name not in facts.files.locations:
            note = facts.files.notes.get(name, "not located")
            items.append(Item(name, Status.ERROR, f"cannot tell where {name} is: {note}"))
            continue
        else:
            paths = facts.files.locations[name]
            if not paths:
                reasons.append(facts.files.notes.get(name, f"no {name} on this host"))
        for path in paths:
            file = facts.files.files.get(path)
            if file is None:
                items.append(Item(path, Status.ERROR, "this file was not examined when the facts were collected"))
                continue
            outcome = judge_file(spec, file, facts)
            items.append(Item(path, outcome.status, outcome.detail))
    return rollup(spec.id, items, none=skipped("; ".join(reasons) or "no such file on this host"))
