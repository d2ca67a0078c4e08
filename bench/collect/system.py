"""Host facts outside Docker: kernel, mounts and fstab, audit rules, the docker group, and the
processes that run inside containers (seen from the host's /proc, never by exec'ing into them)."""
from __future__ import annotations

import os
import re
import shutil
from typing import Iterable, Optional

from bench.audit_rules import LOADED_SOURCE, augenrules_order
from bench.exposure import host_sources
from bench.facts import (AuditFacts, ContainerProcess, ContainersFacts, DockerCLI, FstabEntry, GroupFacts, HostFacts,
                         MountEntry, MountsFacts, ProcessesFacts)
from bench.hostio import Host

# Environment variables a check reads; nothing else of the auditor's environment is recorded.
RECORDED_ENVIRONMENT = ("DOCKER_CONTENT_TRUST",)


def collect_host(host: Host) -> HostFacts:
    facts = HostFacts(error=None, root=host.root)
    try:
        facts.hostname = host.hostname()
        facts.kernel_release = host.kernel_release()
    except OSError as exc:
        facts.error = f"cannot read the kernel release: {exc.strerror or exc}"
    facts.os_name = _os_name(host)
    facts.environment = {k: host.environ[k] for k in RECORDED_ENVIRONMENT if k in host.environ}
    try:
        names = {p.pid: p.name for p in host.processes()}
        facts.listening = [f"{proto} {address} {names.get(pid, '?') if pid else '?'}"
                           for proto, address, pid in host.listening_sockets()]
    except Exception as exc:  # psutil.AccessDenied and friends
        facts.listening_error = f"cannot list listening sockets: {exc}"
    facts.docker_cli, facts.docker_cli_error = docker_cli(host)
    return facts


_CLI_VERSION = re.compile(r"^Docker version (\d+\.\d+(?:\.\d+)?)")


def docker_cli(host: Host) -> tuple[Optional[DockerCLI], Optional[str]]:
    """The docker CLI on the audit's PATH and its version, from `docker --version` (offline: it
    does not contact the daemon)."""
    if not host.is_local_root:
        return None, "the docker CLI of a mounted root (--root) is not run"
    path = shutil.which("docker", path=host.environ.get("PATH", os.defpath))
    if not path:
        return DockerCLI(), None
    try:
        result = host.run([path, "--version"], timeout=10)
    except (OSError, ValueError) as exc:
        return None, f"cannot run {path} --version: {exc}"
    except Exception as exc:  # subprocess.TimeoutExpired
        return None, f"{path} --version did not answer: {exc}"
    banner = (result.stdout.strip().splitlines() or [""])[0][:200]
    if result.returncode != 0:
        return None, f"{path} --version exited {result.returncode}: {result.stderr.strip()[:200]}"
    match = _CLI_VERSION.match(banner)
    return DockerCLI(path=path, version=match.group(1) if match else "", banner=banner), None


def _os_name(host: Host) -> str:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = host.read_text(path)
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key == "PRETTY_NAME":
                return value.strip().strip('"')
    return ""


def _unescape_mount(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text: str) -> list[MountEntry]:
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        tail = right.split()
        if not sep or len(fields) < 6 or len(tail) < 2:
            continue
        optional = fields[6:]
        propagation = "private"
        for tag in optional:
            if tag.startswith("shared:"):
                propagation = "shared"
            elif tag.startswith("master:") and propagation != "shared":
                propagation = "slave"
        mounts.append(MountEntry(source=_unescape_mount(tail[1]), target=_unescape_mount(fields[4]),
                                 fstype=tail[0], options=fields[5], propagation=propagation,
                                 root=_unescape_mount(fields[3]), device=fields[2]))
    return mounts


def parse_fstab(text: str) -> list[FstabEntry]:
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        fields = line.split()
        if len(fields) >= 3:
            entries.append(FstabEntry(spec=_unescape_mount(fields[0]), file=_unescape_mount(fields[1])))
    return entries


def collect_mounts(host: Host, daemon_pid: Optional[int] = None) -> MountsFacts:
    facts = MountsFacts(error=None)
    # The daemon's own mount namespace is the one its data lives in; from a container run with
    # --pid host, /proc/self would be the container's. PID 1 is the last resort.
    candidates = ([f"/proc/{daemon_pid}/mountinfo"] if daemon_pid else []) + ["/proc/self/mountinfo", "/proc/1/mountinfo"]
    if not host.is_local_root:
        candidates = [c for c in candidates if "/self/" not in c]
    problems = []
    for path in candidates:
        try:
            facts.mounts = parse_mountinfo(host.read_proc(path, limit=8 * 1024 * 1024))
            facts.source = path
            break
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror or exc}")
    else:
        facts.error = "cannot read the mount table: " + "; ".join(problems)
        return facts
    try:
        facts.fstab = parse_fstab(host.read_text("/etc/fstab"))
    except FileNotFoundError:
        facts.fstab = []
    except OSError as exc:
        facts.fstab_error = f"cannot read /etc/fstab: {exc.strerror or exc}"
    return facts


AUDIT_RULES_FILE = "/etc/audit/audit.rules"
AUDIT_RULES_DIR = "/etc/audit/rules.d"


def collect_audit(host: Host, use_auditctl: bool = True) -> AuditFacts:
    """Loaded rules from `auditctl -l` (and whether auditing is on, from `auditctl -s`) where it
    works; else the rules the rule files declare for the next boot."""
    facts = AuditFacts(error=None)
    auditctl = _find_binary(host, "auditctl") if use_auditctl else None
    if auditctl and host.is_local_root:
        try:
            result = host.run([auditctl, "-l"], timeout=10)
        except Exception as exc:
            facts.notes.append(f"auditctl -l failed: {exc}")
        else:
            if result.returncode == 0:
                facts.source = LOADED_SOURCE
                facts.rules = [] if result.stdout.strip() == "No rules" else _rule_lines(result.stdout)
                facts.status = _auditctl_status(host, auditctl, facts.notes)
                return facts
            facts.notes.append(f"auditctl -l failed: {(result.stderr or result.stdout).strip()[:200]}")
    elif not auditctl:
        facts.notes.append("auditctl is not installed")
    _declared_rules(host, facts)
    return facts


def _auditctl_status(host: Host, auditctl: str, notes: list[str]) -> dict[str, str]:
    try:
        result = host.run([auditctl, "-s"], timeout=10)
    except Exception as exc:
        notes.append(f"auditctl -s failed: {exc}")
        return {}
    if result.returncode != 0:
        notes.append(f"auditctl -s failed: {(result.stderr or result.stdout).strip()[:200]}")
        return {}
    status = {}
    for line in result.stdout.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            status[key] = value.strip()
    return status


def _declared_rules(host: Host, facts: AuditFacts) -> None:
    """What auditd's start loads: `augenrules --load` rebuilds audit.rules from rules.d/*.rules
    whenever that directory holds rules (so a hand edit of audit.rules does not survive it), and
    loads audit.rules; with no rules.d rules, audit.rules as it stands."""
    files, problems = [], []
    names: list[str] = []
    try:
        names = sorted(n for n in host.listdir(AUDIT_RULES_DIR) if n.endswith(".rules"))
    except FileNotFoundError:
        pass
    except OSError as exc:
        problems.append(f"{AUDIT_RULES_DIR}: {exc.strerror or exc}")
    for name in names:
        path = f"{AUDIT_RULES_DIR}/{name}"
        try:
            files.append((path, host.read_text(path)))
        except FileNotFoundError:
            continue
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror or exc}")
    if files:
        facts.rules, facts.origins = augenrules_order(files)
        facts.source = f"{AUDIT_RULES_DIR}/*.rules as augenrules concatenates them"
        facts.notes += problems
        return
    try:
        text = host.read_text(AUDIT_RULES_FILE)
    except FileNotFoundError:
        text = None
    except OSError as exc:
        problems.append(f"{AUDIT_RULES_FILE}: {exc.strerror or exc}")
        text = None
    if text is None:
        if problems:
            facts.error = "cannot read the audit rules: " + "; ".join(facts.notes + problems)
        else:
            facts.source = "no auditctl and no rule files"
        return
    numbered = [(line.strip(), f"{AUDIT_RULES_FILE}:{n}") for n, line in enumerate(text.splitlines(), 1)
                if line.strip() and not line.strip().startswith("#")]
    facts.rules = [line for line, _ in numbered]
    facts.origins = [origin for _, origin in numbered]
    facts.source = AUDIT_RULES_FILE
    facts.notes += problems


def _rule_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _find_binary(host: Host, name: str) -> str | None:
    if host.is_local_root:
        found = shutil.which(name, path=os.pathsep.join(["/sbin", "/usr/sbin", "/usr/bin", "/bin"]))
        return found
    return None


def collect_docker_group(host: Host, name: str = "docker") -> GroupFacts:
    facts = GroupFacts(error=None, name=name)
    try:
        groups = host.groups()
    except OSError as exc:
        facts.error = f"cannot read /etc/group: {exc.strerror or exc}"
        return facts
    for group in groups:
        if group.name == name:
            facts.exists, facts.gid, facts.members = True, group.gid, list(group.members)
    if facts.exists:
        try:
            facts.primary_members = [u.name for u in host.users() if u.gid == facts.gid]
        except OSError:
            pass
    return facts


_CONTAINER_ID = re.compile(r"[0-9a-f]{64}")


STATUS_FIELDS = ("NoNewPrivs", "Seccomp", "Uid", "CapEff")


def read_status(host: Host, pid: int) -> dict[str, str]:
    status = {}
    for line in host.read_proc(f"/proc/{pid}/status").splitlines():
        key, _, value = line.partition(":")
        if key in STATUS_FIELDS:
            status[key] = " ".join(value.split())
    return status


def resolve_sources(host: Host, containers: ContainersFacts, also: Iterable[str] = ()) -> dict[str, str]:
    """Each bind source and bind-volume device, and the paths in `also` (the daemon's sockets, to
    tell a bind that reaches one), -> the path the host resolves it to (symlinks followed inside the
    host root: /bin is /usr/bin on a merged-/usr host, /var/run/docker.sock is /run/docker.sock)."""
    resolved = {}
    paths = [s.source for c in containers.items for s in host_sources(c.inspect.get("Mounts"), containers.volumes)]
    for path in paths + [p for p in also if p.startswith("/")]:
        if path and path not in resolved:
            try:
                resolved[path] = host.resolve(path)
            except OSError:
                pass  # a loop: read lexically
    return resolved


def identify_paths(host: Host, paths: Iterable[str]) -> dict[str, list[int]]:
    """Each resolved host path that exists -> [st_dev, st_ino], the file it is whatever it is called."""
    ids = {}
    for path in paths:
        try:
            st = host.lstat(path)
        except OSError:
            continue
        ids[path] = [st.st_dev, st.st_ino]
    return ids


def _mounts_under(entries: list[MountEntry], destinations: list[str]) -> list[MountEntry]:
    def under(target: str, base: str) -> bool:
        base = base.rstrip("/") or "/"
        return target == base or target.startswith(base.rstrip("/") + "/")

    return [m for m in entries if any(under(m.target, d) for d in destinations)]


def collect_container_processes(host: Host, containers: ContainersFacts) -> ProcessesFacts:
    """Processes whose cgroup names one of the audited containers, and what the kernel enforces on
    each running container's main process: its status, its uid map, and what is really mounted (and
    how) under the destinations of its binds."""
    facts = ProcessesFacts(error=None, mounts={})
    pids = {c.id: int((c.inspect.get("State") or {}).get("Pid") or 0) for c in containers.items}
    wanted = set(pids)
    if not wanted:
        return facts
    for container in containers.items:
        pid = pids[container.id]
        if not pid:
            continue
        try:
            facts.init_status[container.id] = read_status(host, pid)
            facts.uid_maps[container.id] = host.read_proc(f"/proc/{pid}/uid_map")
            destinations = [s.destination for s in host_sources(container.inspect.get("Mounts"), containers.volumes)]
            if destinations:
                entries = parse_mountinfo(host.read_proc(f"/proc/{pid}/mountinfo", limit=8 * 1024 * 1024))
                facts.mounts[container.id] = _mounts_under(entries, destinations)
        except OSError:
            pass  # exited since it was inspected
    try:
        processes = host.processes()
    except Exception as exc:
        facts.error = f"cannot read the process table: {exc}"
        return facts
    # A process belongs to a container when its cgroup names the container, or when it descends
    # from the container's main process (a rootless daemon on cgroup v1 puts containers in no
    # cgroup of their own).
    owner_of_init = {pid: cid for cid, pid in pids.items() if pid}
    parents = {proc.pid: proc.ppid for proc in processes}
    for proc in processes:
        owner = _descends_from(proc.pid, parents, owner_of_init)
        if owner is None:
            try:
                cgroup = host.read_proc(f"/proc/{proc.pid}/cgroup")
            except OSError:
                continue  # the process ended while we looked
            owner = next((c for c in _CONTAINER_ID.findall(cgroup) if c in wanted), None)
        if owner is not None:
            facts.items.append(ContainerProcess(pid=proc.pid, comm=proc.name, container_id=owner))
    return facts


def _descends_from(pid: int, parents: dict[int, Optional[int]], roots: dict[int, str]) -> Optional[str]:
    seen = set()
    while pid and pid not in seen:
        if pid in roots:
            return roots[pid]
        seen.add(pid)
        pid = parents.get(pid) or 0
    return None
