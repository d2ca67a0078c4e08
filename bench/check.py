"""Writing checks: the one module a Python check imports from.

A check has a stable slug (`container-privileged`), a title, the fact groups it needs, and a
function from Facts to a CheckResult. YAML checks (bench/yaml_checks/) compile to the same thing.

    from bench.check import container_check, passed, failed

    @container_check("container-no-sshd", title="No sshd runs in the container", needs=("processes",),
                     rationale="...", references=("https://...",))
    def no_sshd(container, facts):
        '''Looks for sshd among the container's processes, seen in the host's /proc.'''
        ...
        return passed("no sshd process")

The function's docstring is the check's description (or pass `description=`). Decorators return
Check objects and register nothing: the catalog finds them in the module.

Besides the decorators and verdicts, this module offers what checks need to read facts the way
Docker reads them: the daemon's effective configuration (`daemon_config`), its listen addresses and
data root, version comparison, how reports name images, and container settings as dockerd and runc
read them (bench/container_values.py: users, capabilities, published ports, device rules, host
paths).
"""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Union

from bench.container_values import (DEFAULT_CAPABILITIES, HOST_UID_MAP, Namespace, container_uid, effective_capabilities,
                                    find_container, namespace_of, no_new_privileges, normalise_capability, parse_user,
                                    seccomp_allows_everything, seccomp_profile, security_options, short_capability,
                                    user_is_root)
from bench.exposure import (binds_all_interfaces, clean_path, device_request_text, device_rule_grant, host_sources,
                            low_ports, parse_device_rule, published_ports, sensitive_dir)
from bench.audit_coverage import Coverage, docker_exec_recorded, file_coverage
from bench.audit_rules import rules_of
from bench.daemon import config_of as daemon_config
from bench.daemon.view import DaemonView, Value, daemon_view
from bench.daemon import EffectiveConfig, data_root
from bench.daemon import listen_addresses as _listen_addresses
from bench.facts import NOT_COLLECTED, NOT_RECORDED, ContainerFacts, Facts, ImageDetails
from bench.build_commands import (GRANT, INSTALL, package_actions, setuid_change, setuid_effect,
                                  strips_setuid_everywhere, verification_bypasses)
from bench.image_history import (Reading, Step, add_sources, assignments, base_layer_index, commands,
                                 is_root_destination, parse_step, read as read_history_line, shell_script,
                                 source_kind)
from bench.secret_text import MARKER as REDACTION_MARKER, REDACTED, is_secret_name
from bench.resources import image_name
from bench.results import (CheckResult, Item, Outcome, errored, failed, info, passed, rollup, skipped,
                           warned)
from bench.status import Status
from bench.swarm_values import (DEFAULT_NODE_CERT_EXPIRY, GOSSIP_PORT, Certificate, canonical_ip, host_part, is_encrypted,
                                is_wildcard, listen_port, parse_duration, port_of, read_certificate,
                                show_duration)
from bench.versions import VersionError, at_least, parse_version, show as show_version, version_at_least

__all__ = ["Check", "Container", "check", "container_check", "passed", "failed", "warned", "info",
           "skipped", "errored", "Outcome", "Item", "CheckResult", "Status", "lookup", "MISSING", "rollup",
           "no_containers", "daemon_view", "DaemonView", "Value", "daemon_config", "listen_addresses", "data_root",
           "image_name", "parse_version",
           "version_at_least", "at_least", "show_version", "VersionError",
           # container settings as dockerd and runc read them (bench/container_values.py)
           "parse_user", "user_is_root", "container_uid", "HOST_UID_MAP", "effective_capabilities",
           "normalise_capability", "short_capability", "DEFAULT_CAPABILITIES", "published_ports",
           "binds_all_interfaces", "low_ports",
           "parse_device_rule", "device_rule_grant", "device_request_text", "clean_path", "sensitive_dir",
           "host_sources", "no_new_privileges", "seccomp_profile",
           "seccomp_allows_everything", "security_options", "Namespace", "namespace_of",
           "find_container", "Coverage", "docker_exec_recorded", "file_coverage", "rules_of",
           # swarm settings as swarmkit and dockerd read them (bench/swarm_values.py)
           "DEFAULT_NODE_CERT_EXPIRY", "GOSSIP_PORT", "Certificate", "canonical_ip", "host_part", "is_encrypted", "is_wildcard",
           "listen_port", "parse_duration", "port_of", "read_certificate", "show_duration",
           # images: their config and history read as the Dockerfile that made them (bench/image_history.py)
           "ImageDetails", "image_details", "Step", "Reading", "read_history_line", "parse_step", "shell_script",
           "commands", "package_actions",
           "INSTALL", "GRANT", "setuid_change", "setuid_effect", "strips_setuid_everywhere", "add_sources",
           "source_kind",
           "is_root_destination", "base_layer_index", "verification_bypasses", "assignments", "is_secret_name",
           "REDACTED", "REDACTION_MARKER"]

CheckReturn = Union[Outcome, CheckResult, Iterable[Item]]


def listen_addresses(config: EffectiveConfig, default: str) -> list[str]:
    """The checks' form: the default unix socket given by the caller (the daemon view replaces it)."""
    return _listen_addresses(config, default_socket=default)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    needs: tuple[str, ...]
    run: Callable[[Facts, dict[str, Any]], CheckResult]
    source: str = ""          # file:line, for `docker-cis-bench list --checks` and error messages
    kind: str = "python"      # python | yaml
    target: str = "host"      # what it judges: host, daemon, engine, file, container, image
    paths: tuple[str, ...] = ()  # absolute paths the collector must examine for this check
    # Settings an operator may change with --param ID.NAME=VALUE, with their defaults.
    params: dict[str, Any] = field(default_factory=dict)
    # Turns a --param value (text) into what the check uses; ValueError when it does not fit.
    prepare: Optional[Callable[[str, Any], Any]] = None
    description: str = ""     # what it inspects and how it decides
    rationale: str = ""       # why that matters
    references: tuple[str, ...] = ()
    # Fact groups collected when they can be and read when they were, without making the check
    # ERROR or SKIP when they were not (the daemon's files, for a check the Engine API can answer).
    wants: tuple[str, ...] = ()


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def lookup(data: Any, path: str) -> Any:
    """data["A"]["B"] for path "A.B"; MISSING when any step is absent or null."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
        if current is None:
            return MISSING
    return current


class Container:
    """A container as checks see it: its name, id and inspect data."""

    def __init__(self, facts: ContainerFacts):
        self.facts = facts
        self.id = facts.id
        self.name = facts.name
        self.inspect = facts.inspect

    def get(self, path: str, default: Any = MISSING) -> Any:
        value = lookup(self.inspect, path)
        return default if value is MISSING else value

    def __repr__(self) -> str:
        return f"Container({self.name!r})"


def image_details(facts: Facts) -> Union[Outcome, list[tuple[str, str, Optional[ImageDetails]]]]:
    """(name as reports give it, id, its config and history or None) for every image the audit
    covers: those listed, then the audited containers' images the list lacks. An ERROR outcome
    when no image's config and history were collected."""
    details = facts.images.details
    if details is None:
        why = NOT_RECORDED if facts.schema_version < 3 else NOT_COLLECTED
        return errored(f"image config and history {why}")
    out: list[tuple[str, str, Optional[ImageDetails]]] = []
    listed = set()
    for image in facts.images.items:
        image_id = str(image.get("Id") or "")
        listed.add(image_id)
        out.append((image_name(image), image_id, details.get(image_id)))
    for image_id in details:
        if image_id not in listed:
            out.append((image_name({"Id": image_id}), image_id, details[image_id]))
    return out


def _source_of(fn: Callable[..., Any]) -> str:
    # The code object knows its file and first line (that of the first decorator, as
    # inspect.getsourcelines says) without reading and tokenising the source at every start-up.
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None or not code.co_filename or code.co_filename.startswith("<"):
        return getattr(fn, "__module__", "?")
    return f"{_short(code.co_filename)}:{code.co_firstlineno}"


def _short(path: str) -> str:
    for marker in ("/bench/_data/", "/site-packages/"):
        if marker in path:
            return path.split(marker, 1)[1]
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def normalise(check_id: str, value: Any) -> CheckResult:
    """Whatever a Python check returned, as a CheckResult."""
    if isinstance(value, CheckResult):
        return value
    if isinstance(value, Outcome):
        return CheckResult(check_id, value.status, value.detail, [])
    if isinstance(value, (list, tuple)) and all(isinstance(v, Item) for v in value):
        return rollup(check_id, list(value), none=skipped("nothing to check on this host"))
    return CheckResult(check_id, Status.ERROR, f"check {check_id} returned {type(value).__name__}, not a verdict")


def _takes_params(fn: Callable[..., Any]) -> bool:
    return "params" in inspect.signature(fn).parameters


def _metadata(fn: Callable[..., Any], description: Optional[str], rationale: str,
              references: Iterable[str]) -> dict[str, Any]:
    text = description if description is not None else inspect.getdoc(fn) or ""
    refs = (references,) if isinstance(references, str) else tuple(references)  # one URL given bare
    return {"description": " ".join(text.split()), "rationale": " ".join(rationale.split()), "references": refs}


def check(check_id: str, *, title: str, needs: Iterable[str] = (), wants: Iterable[str] = (),
          params: Optional[dict[str, Any]] = None,
          prepare: Optional[Callable[[str, Any], Any]] = None, description: Optional[str] = None,
          rationale: str = "", references: Iterable[str] = ()) -> Callable[[Callable[..., CheckReturn]], Check]:
    """A host-level check: fn(facts[, params]) returns an Outcome, a CheckResult or a list of Items.
    `prepare(name, text)` turns a --param value into what the check uses (ValueError when it does
    not fit); without it the check gets the text."""

    def wrap(fn: Callable[..., CheckReturn]) -> Check:
        with_params = _takes_params(fn)

        def run(facts: Facts, values: dict[str, Any]) -> CheckResult:
            return normalise(check_id, fn(facts, params=values) if with_params else fn(facts))

        return Check(id=check_id, title=title, needs=tuple(needs), wants=tuple(wants), run=run,
                     source=_source_of(fn), kind="python", target="host", params=dict(params or {}), prepare=prepare,
                     **_metadata(fn, description, rationale, references))

    return wrap


def no_containers(facts: Facts) -> Outcome:
    scope = "containers" if facts.containers.scope == "all" else "running containers"
    extra = f" ({len(facts.containers.excluded)} excluded by --include/--exclude)" if facts.containers.excluded else ""
    return skipped(f"no {scope} to check{extra}")


def container_check(check_id: str, *, title: str, needs: Iterable[str] = (), wants: Iterable[str] = (),
                    params: Optional[dict[str, Any]] = None,
                    prepare: Optional[Callable[[str, Any], Any]] = None, description: Optional[str] = None,
                    rationale: str = "", references: Iterable[str] = ()) -> Callable[[Callable[..., Outcome]], Check]:
    """A per-container check: fn(container, facts[, params]) returns an Outcome; findings roll up,
    one item per container, and a check with no containers to look at is SKIP."""
    all_needs = ("containers",) + tuple(n for n in needs if n != "containers")

    def wrap(fn: Callable[..., Outcome]) -> Check:
        with_params = _takes_params(fn)

        def run(facts: Facts, values: dict[str, Any]) -> CheckResult:
            items = []
            for container_facts in facts.containers.items:
                if container_facts.error:
                    items.append(Item(container_facts.name, Status.ERROR, container_facts.error))
                    continue
                try:
                    container = Container(container_facts)
                    outcome = fn(container, facts, params=values) if with_params else fn(container, facts)
                except Exception as exc:  # one container's odd data must not hide the others
                    outcome = errored(f"check raised {type(exc).__name__}: {exc}")
                if not isinstance(outcome, Outcome):
                    outcome = errored(f"check returned {type(outcome).__name__}, not a verdict")
                items.append(Item(container_facts.name, outcome.status, outcome.detail))
            return rollup(check_id, items, none=no_containers(facts))

        return Check(id=check_id, title=title, needs=all_needs, wants=tuple(wants), run=run, source=_source_of(fn),
                     kind="python", target="container", params=dict(params or {}), prepare=prepare,
                     **_metadata(fn, description, rationale, references))

    return wrap

