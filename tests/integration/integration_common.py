"""What every configuration's integration tests share: running the CLI, reading what the host
itself says about the things these tests do not control, and the tests common to all setups.

Expected statuses come from the test modules' tables. A few recommendations depend on the machine
rather than on the daemon under test (the audit rules loaded on the host, the owner and mode of the
packaged unit files, the engine's version, whether AppArmor is on): their table entry is HOST, and
the expectation is worked out here from the host, by the benchmark's rule, independently of the
auditor's code.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable, Optional, Union

import jsonschema
import pytest
import yaml

from bench.status import Status
from helpers import REPO, by_id, junit_schema, report_schema, run_bench, without_docker_env
from integration_env import Env

PROFILE = yaml.safe_load((REPO / "profiles" / "cis-docker-1.11.0.yaml").read_text())
RECOMMENDATIONS = {r["id"]: r for r in PROFILE["recommendations"]}
IDS = list(RECOMMENDATIONS)
BAD = ("FAIL", "WARN")
SCOPES = ("running", "all")

# A table entry is a status, HOST (worked out from the machine), or a function of the environment.
HOST = "HOST"
Expectation = Union[str, Callable[[Env], str]]

# Section 5 recommendations judged per container (5.22 / 5.23 judge docker exec sessions), and 4.1.
CONTAINER_IDS = ["4.1"] + [f"5.{n}" for n in range(1, 26) if n not in (22, 23)]


# -- the CLI ------------------------------------------------------------------------------------------

def cli(env: Env, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """`python -m bench ARGS` with a clean Docker environment plus what the setup asks for."""
    return run_bench(list(args), env=without_docker_env(**env.cli_env, NO_COLOR="1"), timeout=timeout)


def scope_args(scope: str) -> list[str]:
    return ["--all"] if scope == "all" else []


def audit(env: Env, scope: str, fmt: str = "json", *extra: str) -> subprocess.CompletedProcess:
    result = cli(env, "audit", "--host", env.host, "--format", fmt, *scope_args(scope), *extra)
    assert result.returncode in (0, 1), f"audit exited {result.returncode}: {result.stderr}"
    return result


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["status"] for r in report["results"]}


def offenders(result: dict[str, Any]) -> set[str]:
    return {i["resource"] for i in result["items"] if i["status"] in BAD}


# -- what the host says -------------------------------------------------------------------------------

UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/lib/systemd/system",
             "/usr/lib/systemd/system")


def _auditctl() -> Optional[str]:
    return shutil.which("auditctl") or next((p for p in ("/sbin/auditctl", "/usr/sbin/auditctl")
                                             if os.path.exists(p)), None)


def loaded_audit_rules() -> Optional[list[str]]:
    """The rules the kernel has loaded (auditctl -l); None when auditctl cannot say."""
    auditctl = _auditctl()
    if auditctl:
        listed = subprocess.run([auditctl, "-l"], capture_output=True, text=True)
        if listed.returncode == 0:
            return [] if listed.stdout.strip() == "No rules" else listed.stdout.splitlines()
    return None


def declared_audit_rules() -> list[str]:
    """The rules auditd would load at boot: rules.d (augenrules rebuilds audit.rules from it), else audit.rules."""
    files = sorted(Path("/etc/audit/rules.d").glob("*.rules")) or [Path("/etc/audit/audit.rules")]
    rules: list[str] = []
    for file in files:
        try:
            rules += file.read_text().splitlines()
        except OSError:
            pass
    return rules


def audit_state() -> dict[str, str]:
    """`auditctl -s`: enabled 0/1/2, pid of auditd, ..."""
    auditctl = _auditctl()
    listed = subprocess.run([auditctl, "-s"], capture_output=True, text=True) if auditctl else None
    if not listed or listed.returncode != 0:
        return {}
    return dict(line.split(" ", 1) for line in listed.stdout.splitlines() if " " in line)


def watched(path: str, rules: list[str], perms: str = "wa") -> bool:
    """The benchmark's rule: `-w PATH` (all permissions), or -F path=/dir= with a perm field that has
    `perms`; a directory watch covers what lies beneath. Rules with other fields (arch, auid, ...)
    or a never action do not count."""
    # Through a symlink the kernel records its target: a rule on the link itself does not count.
    names = {os.path.realpath(path)} | (set() if os.path.islink(path) else {path})
    for rule in rules:
        words = shlex.split(rule) if rule.strip() and not rule.lstrip().startswith("#") else []
        if not words or (words[0] in ("-a", "-A") and "never" in words[1]):
            continue
        target, recursive, granted, other = None, True, "rwxa", False
        for i, word in enumerate(words[:-1]):
            value = words[i + 1]
            if word == "-w":
                target = value
            elif word == "-p":
                granted = value
            elif word == "-F":
                key, _, val = value.partition("=")
                if key in ("path", "dir"):
                    target, recursive = val, key == "dir" or os.path.isdir(val)
                elif key == "perm":
                    granted = val
                elif key not in ("key",):
                    other = True
        if not target or other or not set(perms) <= set(granted):
            continue
        target = target.rstrip("/") or "/"
        if any(n == target or (recursive and n.startswith(target.rstrip("/") + "/")) for n in names):
            return True
    return False


def audit_expectation(paths: list[str], binaries: bool = False, declared: bool = False) -> str:
    """CIS 1.7-1.15: each of these files that exists must be watched (writes and attribute changes,
    and executions of binaries) by a rule the kernel has loaded, with auditing on and auditd taking
    the records; rules only in the rule files (declared: what an auditor without auditctl reads)
    WARN; none existing: not applicable."""
    existing = [p for p in paths if p and os.path.lexists(p)]
    if not existing:
        return "SKIP"
    perms = "wxa" if binaries else "wa"
    rules = None if declared else loaded_audit_rules()
    if rules is None:
        return "WARN" if all(watched(p, declared_audit_rules(), perms) for p in existing) else "FAIL"
    if not all(watched(p, rules, perms) for p in existing):
        return "FAIL"
    return kernel_audit_expectation()


def kernel_audit_expectation() -> str:
    """For files a loaded rule watches: FAIL while auditing is off, WARN while no auditd takes the records."""
    state = audit_state()
    if state.get("enabled", "").startswith("0"):
        return "FAIL"
    return "PASS" if state.get("pid", "0").strip() not in ("", "0") else "WARN"


def unit_file(name: str) -> Optional[str]:
    return next((f"{d}/{name}" for d in UNIT_DIRS if os.path.lexists(f"{d}/{name}")), None)


def service_files() -> list[str]:
    found = [unit_file("docker.service")]
    for d in UNIT_DIRS:
        found += sorted(str(p) for p in Path(d, "docker.service.d").glob("*.conf"))
    return [p for p in found if p]


def registry_certs() -> list[str]:
    return sorted(str(p) for p in Path("/etc/docker/certs.d").glob("*/*"))


def file_expectation(paths: list[str], *, owner: bool = False, mode: int = 0) -> str:
    """CIS 3.x: root:root, or a mode no looser than `mode` (bit masks: 0640 satisfies 0644)."""
    existing = [p for p in paths if os.path.exists(p)]
    if not existing:
        return "SKIP"
    for path in existing:
        st = os.stat(path)
        if owner and (st.st_uid, st.st_gid) != (0, 0):
            return "FAIL"
        if not owner and stat.S_IMODE(st.st_mode) & ~mode:
            return "FAIL"
    return "PASS"


def security_options(env: Env) -> set[str]:
    raw = env.daemon.docker("info", "-f", "{{json .SecurityOptions}}").stdout
    return {o.split(",")[0].removeprefix("name=") for o in json.loads(raw) or []}


def engine_version(env: Env) -> tuple[int, ...]:
    text = env.daemon.docker("version", "-f", "{{.Server.Version}}").stdout.strip()
    parts = []
    for piece in text.split("+")[0].split("-")[0].split("."):
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def dockerd_binary() -> str:
    return os.path.realpath(shutil.which("dockerd") or "/usr/bin/dockerd")


def audit_log() -> str:
    try:
        for line in Path("/etc/audit/auditd.conf").read_text().splitlines():
            key, eq, value = line.partition("=")
            if eq and key.strip() == "log_file" and value.strip():
                return value.strip()
    except OSError:
        pass
    return "/var/log/audit/audit.log"


def exec_history(offending: bool) -> str:
    """CIS 5.22 / 5.23: FAIL when a docker exec used the option; otherwise PASS only where an audit
    log exists, auditing is on, and a loaded rule watches executions of /usr/bin/docker (the
    machine's `auditctl -l`, read here by the benchmark's own rule); else ERROR: the log could not
    show one."""
    if offending:
        return "FAIL"
    auditctl = _auditctl()
    listed = subprocess.run([auditctl, "-l"], capture_output=True, text=True) if auditctl else None
    rules = listed.stdout.splitlines() if listed and listed.returncode == 0 else []
    client = os.path.realpath("/usr/bin/docker")
    recorded = (audit_state().get("enabled", "0").startswith(("1", "2"))
                and any(watched(path, rules, perms="x") for path in {"/usr/bin/docker", client}))
    return "PASS" if os.path.exists(audit_log()) and recorded else "ERROR"


AUDITED_BINARIES = ("1.7", "1.14", "1.15")


def audited_host_files(rec_id: str) -> Optional[list[str]]:
    """The machine's files CIS 1.7, 1.9-1.12, 1.14 and 1.15 want audited."""
    return {
        "1.7": lambda: [dockerd_binary(), "/usr/bin/docker"],
        "1.9": lambda: ["/etc/docker"],
        "1.10": lambda: [unit_file("docker.service") or ""],
        "1.11": lambda: [unit_file("docker.socket") or ""],
        "1.12": lambda: ["/etc/default/docker"],
        "1.14": lambda: ["/usr/bin/docker-containerd"],
        "1.15": lambda: ["/usr/bin/docker-runc"],
    }.get(rec_id, lambda: None)()


def host_expectation(rec_id: str, env: Env, scope: str) -> str:
    """What the benchmark says for the recommendations that depend on this machine."""
    if rec_id == "1.1":
        # A partition of its own: the data root must not be on the root filesystem's device.
        same = os.stat(env.daemon.data_root).st_dev == os.stat("/").st_dev
        return "FAIL" if same else "PASS"
    if rec_id == "1.5":
        # The auditor's default minimum is 28.0 (the oldest engine line Docker still patches);
        # an older engine violates this not-scored recommendation: WARN.
        return "PASS" if engine_version(env) >= (28, 0) else "WARN"
    audited = audited_host_files(rec_id)
    if audited is not None:
        return audit_expectation(audited, binaries=rec_id in AUDITED_BINARIES)
    files = {
        "3.1": (service_files(), dict(owner=True)),
        "3.2": (service_files(), dict(mode=0o644)),
        "3.3": ([unit_file("docker.socket") or ""], dict(owner=True)),
        "3.4": ([unit_file("docker.socket") or ""], dict(mode=0o644)),
        "3.5": (["/etc/docker"], dict(owner=True)),
        "3.6": (["/etc/docker"], dict(mode=0o755)),
        "3.7": (registry_certs(), dict(owner=True)),
        "3.8": (registry_certs(), dict(mode=0o444)),
        "3.19": (["/etc/default/docker"], dict(owner=True)),
        "3.20": (["/etc/default/docker"], dict(mode=0o644)),
    }
    if rec_id in files:
        paths, how = files[rec_id]
        return file_expectation(paths, **how)
    if rec_id in ("5.1", "5.2"):
        # Only where the daemon confines containers with AppArmor / SELinux; a privileged container
        # (seen with --all) runs unconfined.
        feature = "apparmor" if rec_id == "5.1" else "selinux"
        if feature not in security_options(env) or not env.containers:
            return "SKIP"
        return "FAIL" if scope == "all" and "privileged" in env.not_running else "PASS"
    raise KeyError(f"no host rule for {rec_id}")


def wrong_statuses(report: dict[str, Any], expected: dict[str, str], env: Env,
                   scope: str) -> dict[str, tuple[str, str, str]]:
    """The recommendations whose status is not the one expected (HOST: worked out from the
    machine): id -> (status, expected, the start of the details)."""
    wrong = {}
    for rec_id, got in statuses(report).items():
        want = expected[rec_id]
        want = host_expectation(rec_id, env, scope) if want == HOST else want
        if got != want:
            wrong[rec_id] = (got, want, by_id(report)[rec_id]["details"][:160])
    return wrong


# -- the tests every configuration runs -----------------------------------------------------------------

class AuditContract:
    """Subclassed once per configuration (class name Test...), with its tables and an `env` fixture.

    EXPECTED: status of every recommendation in an audit of the running containers.
    EXPECTED_ALL: what differs with --all (which adds containers that are not running).
    """

    EXPECTED: dict[str, Expectation] = {}
    EXPECTED_ALL: dict[str, Expectation] = {}

    # Filled by subclasses that have containers: section 5 id -> names of offending containers.
    OFFENDERS: dict[str, set[str]] = {}
    OFFENDERS_ALL: dict[str, set[str]] = {}

    @pytest.fixture(scope="class")
    @classmethod
    def reports(cls, env: Env) -> dict[str, dict[str, Any]]:
        out = {}
        for scope in SCOPES:
            result = audit(env, scope)
            report = json.loads(result.stdout)
            report["_exit"] = result.returncode
            out[scope] = report
        return out

    def expected(self, rec_id: str, env: Env, scope: str) -> str:
        table = dict(self.EXPECTED)
        if scope == "all":
            table.update(self.EXPECTED_ALL)
        entry = table[rec_id]
        if entry == HOST:
            return host_expectation(rec_id, env, scope)
        return entry(env) if callable(entry) else entry

    def expected_offenders(self, rec_id: str, scope: str) -> set[str]:
        table = self.OFFENDERS_ALL if scope == "all" else self.OFFENDERS
        return set(table.get(rec_id, set()))

    def test_table_covers_the_profile(self) -> None:
        assert set(self.EXPECTED) == set(IDS), "the table must name each of the 83 recommendations once"
        assert len(IDS) == 83
        assert set(self.EXPECTED_ALL) <= set(IDS)

    @pytest.mark.parametrize("scope", SCOPES)
    @pytest.mark.parametrize("rec_id", IDS)
    def test_recommendation_status(self, reports: dict[str, Any], env: Env, rec_id: str, scope: str) -> None:
        result = by_id(reports[scope])[rec_id]
        expected = self.expected(rec_id, env, scope)
        assert result["status"] == expected, (
            f"{rec_id} {result['title']!r} ({env.name}, {scope}): {result['status']}, expected {expected}; "
            f"details: {result['details']}; items: {[(i['resource'], i['status']) for i in result['items']]}")

    @pytest.mark.parametrize("scope", SCOPES)
    def test_containers_judged(self, reports: dict[str, Any], env: Env, scope: str) -> None:
        """Every per-container recommendation judges exactly the containers of the scope, and the
        offending ones are exactly those the setup made to offend."""
        wanted = env.everything() if scope == "all" else env.running()
        results = by_id(reports[scope])
        problems = []
        for rec_id in CONTAINER_IDS:
            result = results[rec_id]
            names = [i["resource"] for i in result["items"]]
            if sorted(names) != sorted(wanted):
                problems.append(f"{rec_id}: judged {sorted(names)}, expected {sorted(wanted)}")
            if any(i["status"] == "ERROR" for i in result["items"]):
                problems.append(f"{rec_id}: ERROR items {[i for i in result['items'] if i['status'] == 'ERROR']}")
            expected = self.expected_offenders(rec_id, scope)
            if rec_id in ("5.1", "5.2") and self.expected(rec_id, env, scope) == "SKIP":
                expected = set()
            if offenders(result) != expected:
                problems.append(f"{rec_id}: offenders {sorted(offenders(result))}, expected {sorted(expected)} "
                                f"({[(i['resource'], i['status'], i['detail']) for i in result['items'] if i['status'] in BAD]})")
        assert not problems, "\n".join(problems)

    @pytest.mark.parametrize("scope", SCOPES)
    def test_exit_status_and_summary(self, reports: dict[str, Any], scope: str) -> None:
        report = reports[scope]
        counted = {s.value: 0 for s in Status}
        for result in report["results"]:
            counted[result["status"]] += 1
        assert report["summary"] == counted
        assert report["_exit"] == (1 if counted["FAIL"] or counted["ERROR"] else 0)
        assert report["facts_source"] == "live"
        assert [r["id"] for r in report["results"]] == IDS

    @pytest.mark.parametrize("scope", SCOPES)
    def test_json_report_matches_its_schema(self, reports: dict[str, Any], scope: str) -> None:
        report = {k: v for k, v in reports[scope].items() if k != "_exit"}
        jsonschema.validate(report, report_schema())

    @pytest.mark.parametrize("scope", SCOPES)
    def test_junit_report_matches_the_xsd(self, env: Env, reports: dict[str, Any], scope: str) -> None:
        result = audit(env, scope, "junit")
        junit_schema().validate(result.stdout)
        root = ET.fromstring(result.stdout)
        outcomes = {}
        for case in root.iter("testcase"):
            outcomes[case.get("name", "").split()[0]] = next(
                (child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        # FAIL is a failure, ERROR an error, SKIP and INFO are skipped, WARN and PASS pass.
        kind = {"FAIL": "failure", "ERROR": "error", "SKIP": "skipped", "INFO": "skipped", "WARN": "passed",
                "PASS": "passed"}
        assert outcomes == {rec_id: kind[status] for rec_id, status in statuses(reports[scope]).items()}
        assert int(root.get("tests", "0")) == 83
        assert int(root.get("failures", "0")) == list(outcomes.values()).count("failure")

    @pytest.mark.parametrize("section", ["1", "2", "3", "4", "5", "6"])
    def test_a_selection_gives_the_same_verdicts(self, env: Env, reports: dict[str, Any], section: str) -> None:
        """--check collects only the facts the selected checks need; the verdicts must not change."""
        result = audit(env, "all", "json", "--check", section)
        part = statuses(json.loads(result.stdout))
        full = {k: v for k, v in statuses(reports["all"]).items() if k.split(".")[0] == section}
        assert part == full

    @pytest.mark.parametrize("scope", SCOPES)
    def test_recorded_facts_give_the_same_audit(self, env: Env, reports: dict[str, Any], scope: str,
                                                tmp_path: Path) -> None:
        facts_file = tmp_path / "facts.json"
        recorded = cli(env, "record", "--host", env.host, *scope_args(scope), "--output", str(facts_file))
        assert recorded.returncode == 0, recorded.stderr
        facts = json.loads(facts_file.read_text())
        # The auditor examined the daemon under test, not another one on this machine.
        assert facts["daemon"]["pid"] == env.daemon.process.pid
        assert facts["daemon"]["config_file"] == str(env.daemon.config_file)
        assert stat.S_IMODE(facts_file.stat().st_mode) == 0o600
        replayed = cli(env, "audit", "--facts", str(facts_file), "--format", "json")
        assert replayed.returncode in (0, 1), replayed.stderr
        again = json.loads(replayed.stdout)
        live = reports[scope]
        assert statuses(again) == statuses(live)
        assert {r: offenders(x) for r, x in by_id(again).items()} == {r: offenders(x) for r, x in by_id(live).items()}
        assert again["facts_source"].startswith("facts file")
