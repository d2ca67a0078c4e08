"""The targets a YAML check can judge, each described once: the facts it needs, the fields a check
of it may carry, how those are validated, and how it is evaluated."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from bench.audit_coverage import file_coverage
from bench.audit_rules import rules_of
from bench.check import MISSING, Container, lookup, no_containers
from bench.daemon import OPTION_KINDS, format_value
from bench.daemon.view import daemon_view
from bench.facts import Facts, FileFacts
from bench.operators import FILE_OPERATORS
from bench.resources import image_name
from bench.results import CheckResult, Item, Outcome, rollup, skipped
from bench.roles import ROLES
from bench.serde import to_data
from bench.status import Status
from bench.yaml_checks.spec import YamlCheckSpec

FILE_FIELDS = ("kind", "mode", "uid", "gid", "owner", "group", "link")
MAX_SHOWN = 200
# Raises the loader's error for one field of the check being read: fail(field, message).
Fail = Callable[[str, str], Exception]


@dataclass(frozen=True)
class Target:
    name: str
    needs: tuple[str, ...]
    fields: tuple[str, ...]          # fields a check of this target may have beyond the common ones
    evaluate: Callable[[YamlCheckSpec, Facts], CheckResult]
    # Validates what depends on the target; returns the check's files (roles or absolute paths).
    validate: Callable[[dict[str, Any], str, Optional[str], Fail], tuple[str, ...]]
    wants: tuple[str, ...] = ()      # facts read when they could be collected (see Check.wants)


# -- judging one value ----------------------------------------------------------------------------

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


def _single(spec: YamlCheckSpec, outcome: Outcome) -> CheckResult:
    return CheckResult(spec.id, outcome.status, outcome.detail, [])


# -- values: daemon, engine, host, container, image ----------------------------------------------

def _run_daemon(spec: YamlCheckSpec, facts: Facts) -> CheckResult:
    """The running daemon's value where the Engine API reports it, else the flags and daemon.json;
    a disagreement between them, or a daemon.json changed since the daemon started, never PASSes."""
    assert spec.field is not None
    value = daemon_view(facts).value(spec.field)
    if value.error:
        return _single(spec, value.verdict(False, ""))
    outcome = judge(spec, value.value if value.is_set else MISSING, spec.field, value.source if value.is_set else "")
    doubt = "; ".join(x for x in (value.conflict, value.caveat) if x)
    if doubt and outcome.status == Status.PASS:
        outcome = Outcome(Status.WARN, f"{outcome.detail}; but {doubt}")
    elif doubt:
        outcome = Outcome(outcome.status, f"{outcome.detail}; {doubt}")
    return _single(spec, outcome)


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


def _run_image(spec: YamlCheckSpec, facts: Facts) -> CheckResult:
    assert spec.field is not None
    items = []
    for image in facts.images.items:
        outcome = judge(spec, lookup(image, spec.field), spec.field)
        items.append(Item(image_name(image), outcome.status, outcome.detail))
    return rollup(spec.id, items, none=skipped("no images on this host"))


def _validate_value_target(entry: dict[str, Any], op_name: str, field: Optional[str], fail: Fail) -> tuple[str, ...]:
    if field is None:
        raise fail("field", f"required for target {entry['target']}")
    if op_name in FILE_OPERATORS:
        raise fail("op", f"operator {op_name} applies to files only")
    if entry["target"] == "daemon" and field not in OPTION_KINDS:
        raise fail("field", f"{field!r} is not a dockerd option (use the daemon.json name, e.g. 'icc')")
    return ()


# -- files and their audit rules -----------------------------------------------------------------

def _file_value(spec: YamlCheckSpec, file: FileFacts) -> tuple[Any, str]:
    if spec.op.name == "mode_at_most":
        return file.mode, "mode"
    if spec.op.name == "owned_by":
        users = {str(file.uid)} | ({file.owner} if file.owner else set())
        groups = {str(file.gid)} | ({file.group} if file.group else set())
        return (users, groups), "owner"
    assert spec.field is not None
    value = getattr(file, spec.field)
    return (MISSING if value is None else value), spec.field


def _describe_file_value(spec: YamlCheckSpec, file: FileFacts) -> str:
    if spec.op.name == "mode_at_most":
        if file.mode is None:
            return "mode unknown"
        return f"mode {file.mode:04o}" + (" (the sticky bit grants no access)" if file.mode & 0o1000 else "")
    if spec.op.name == "owned_by":
        return f"owner {file.owner or file.uid}:{file.group or file.gid}"
    return ""


def acl_grants(acl: list[str]) -> list[str]:
    """The named users and groups an access ACL lets in, with what the mask leaves them."""
    mask = next((e.rsplit(":", 1)[1] for e in acl if e.startswith("mask:")), "rwx")
    granted = []
    for entry in acl:
        kind, who, bits = entry.split(":", 2)
        if kind in ("user", "group"):
            left = "".join(b if b != "-" and m != "-" else "-" for b, m in zip(bits, mask))
            if left != "---":
                granted.append(f"{kind} {who} {left}")
    return granted


def _link_note(file: FileFacts) -> str:
    if file.link is None:
        return ""
    return f" (symlink to {file.link}; its target {file.resolved} was judged)"


def _judge_watch(spec: YamlCheckSpec, file: FileFacts, facts: Facts) -> Outcome:
    audit = facts.audit
    rules = rules_of(audit)
    loaded = rules.loaded
    # An executable (or one whose mode is unknown) must have its executions recorded too.
    executable = file.mode is None or (file.kind == "file" and bool(file.mode & 0o111))
    coverage = file_coverage(rules, file.path, target=file.resolved if file.link else None,
                             directory=file.kind == "dir", executable=executable)
    if coverage.status == "covered" and loaded:
        return Outcome(Status.PASS, f"watched by `{coverage.rule}` (auditctl -l): {coverage.reason}")
    if coverage.status == "covered":
        return Outcome(Status.WARN, f"declared in {coverage.origin or audit.source}; whether the kernel loaded it "
                                    f"is unknown: {coverage.reason}")
    where = "" if loaded else f" (rule files only: {audit.source})"
    if coverage.status == "partial":
        return Outcome(Status.WARN, f"only partly audited{where}: {coverage.reason}")
    if coverage.status == "disabled":
        return Outcome(Status.FAIL, f"nothing is audited{where}: {coverage.reason}")
    return Outcome(Status.FAIL, f"no audit rule records changes to {file.path} ({audit.source}: "
                                f"{len(audit.rules)} rules): {coverage.reason}")


def _judge_file(spec: YamlCheckSpec, file: FileFacts, facts: Facts) -> Outcome:
    if file.error and spec.target != "audit":
        return Outcome(Status.ERROR, f"cannot examine: {file.error}")
    if not file.exists and not file.error:
        what = "dangling symlink" if file.kind == "symlink" else "does not exist"
        return Outcome(spec.when_missing, what)
    if spec.target == "audit":
        return _judge_watch(spec, file, facts)
    value, label = _file_value(spec, file)
    if spec.op.name in FILE_OPERATORS:
        shown = _describe_file_value(spec, file) + _link_note(file)
        granted = acl_grants(file.acl) if spec.op.name == "mode_at_most" else []
        if granted:
            # The mode's group bits show the ACL's mask then: the mode alone looks compliant.
            return Outcome(spec.on_fail, f"{shown}, but its access ACL also grants {', '.join(granted)}, "
                                         f"expected {spec.op.describe(spec.expected)} and no more")
        if spec.op.test(value, spec.expected):
            return Outcome(Status.PASS, shown)
        return Outcome(spec.on_fail, f"{shown}, expected {spec.op.describe(spec.expected)}")
    outcome = judge(spec, value, label)
    return Outcome(outcome.status, outcome.detail + _link_note(file))


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
            outcome = _judge_file(spec, file, facts)
            items.append(Item(path, outcome.status, outcome.detail))
    return rollup(spec.id, items, none=skipped("; ".join(reasons) or "no such file on this host"))


def _validate_files(entry: dict[str, Any], fail: Fail) -> tuple[str, ...]:
    raw_files = entry.get("file")
    if isinstance(raw_files, str):
        raw_files = [raw_files]
    if not isinstance(raw_files, list) or not raw_files or not all(isinstance(f, str) and f for f in raw_files):
        raise fail("file", "required: a file role (see `docker-cis-bench list --files`) or an absolute path, or a list")
    for name in raw_files:
        if not name.startswith("/") and name not in ROLES:
            raise fail("file", f"unknown file role {name!r} (known: {', '.join(sorted(ROLES))}; or an absolute path)")
    return tuple(raw_files)


def _validate_file_target(entry: dict[str, Any], op_name: str, field: Optional[str], fail: Fail) -> tuple[str, ...]:
    files = _validate_files(entry, fail)
    if op_name not in FILE_OPERATORS:
        if field is None:
            raise fail("field", f"operator {op_name} on a file needs a field ({', '.join(FILE_FIELDS)})")
        if field not in FILE_FIELDS:
            raise fail("field", f"files have the fields {', '.join(FILE_FIELDS)}")
    elif field is not None:
        raise fail("field", f"operator {op_name} reads the file itself; drop the field")
    return files


def _validate_audit_target(entry: dict[str, Any], op_name: str, field: Optional[str], fail: Fail) -> tuple[str, ...]:
    return _validate_files(entry, fail)


_VALUE_FIELDS = ("field", "default", "when_absent")
TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("daemon", (), _VALUE_FIELDS, _run_daemon, _validate_value_target, wants=("engine", "daemon")),
    Target("engine", ("engine",), _VALUE_FIELDS, _run_engine, _validate_value_target),
    Target("file", ("files",), ("file", "field", "when_missing", "when_rootless"), _run_file, _validate_file_target),
    Target("audit", ("audit", "files"), ("file", "when_missing"), _run_file, _validate_audit_target),
    Target("container", ("containers",), _VALUE_FIELDS, _run_container, _validate_value_target),
    Target("image", ("images",), _VALUE_FIELDS, _run_image, _validate_value_target),
    Target("host", ("host",), _VALUE_FIELDS, _run_host, _validate_value_target),
)}
