"""Would the kernel record it? Whether a RuleSet (bench/audit_rules.py) audits changes to a file, or
the executions of the docker client, with the rule that decides and why.

How the kernel decides (kernel/auditsc.c and auditfilter.c), and so how this module does:
1. Nothing is recorded while auditing is off (`-e 0`: __audit_syscall_entry returns at once).
2. The task list is read when a process is created: its first matching rule decides. `never`
   gives the process no audit context, so none of its syscalls is recorded whatever the exit rules
   say (`-a never,task` with no fields: no process created after it is loaded is audited);
   `always` records every syscall of the process.
3. At syscall exit, exit rules and watches form one list in load order (watches hang off an inode
   hash, but every rule's priority is its place in the load order, `-A` first): the first rule
   that matches decides, `never` silences the event and `always` records it.
4. Each record of the event then passes the exclude list, where any rule whose fields all match
   drops it (a rule without fields matches nothing). Without its SYSCALL record nothing of the
   event is written; without PATH it no longer names the file; without EXECVE the arguments are gone.

A rule matches an access when every field does. Decided here: path (that file; `-w` on a directory
and dir= also what lies beneath), perm (r w x a, by the syscall's class), syscalls, arch, exe (after
execve the process's exe is the new program), key (ignored). Fields about who acts (auid, uid, pid,
success, subj_*, ...) may match some accesses and not others: such a rule covers partly, and such a
never rule silences partly.

Covered means: writes (w) and attribute changes (a: chmod, chown, xattrs) of the file, for a
directory also of everything beneath it, and for an executable its executions (x), are recorded;
reads are not asked for. Each for 64-bit and 32-bit syscalls: `-F arch=b64` alone leaves 32-bit
programs unrecorded. Through a symlink the kernel records the target's inode, so a rule on the
link's own path records only the link's replacement: partial.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from bench.audit_rules import Field, Rule, RuleSet

RECORDED, SILENT, SOME = "recorded", "silent", "some"
NO, MAYBE, YES = 0, 1, 2
_SYSCALLS = {
    "write": frozenset("open openat openat2 creat truncate ftruncate rename renameat renameat2 unlink unlinkat link "
                       "linkat symlink symlinkat mkdir mkdirat rmdir mknod mknodat".split()),
    "attr": frozenset("chmod fchmod fchmodat fchmodat2 chown fchown lchown fchownat setxattr lsetxattr fsetxattr "
                      "removexattr lremovexattr fremovexattr setxattrat removexattrat utime utimes utimensat "
                      "futimesat".split()),
    "exec": frozenset({"execve", "execveat"}),
}
_PERM = {"write": "w", "attr": "a", "exec": "x"}
_NOUN = {"write": "writes", "attr": "attribute changes", "exec": "executions"}
_ARCH64 = {"b64", "x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "mips64", "mips64el", "riscv64", "loongarch64"}
_ARCH32 = {"b32", "i386", "i486", "i586", "i686", "arm", "armeb", "armv7l", "ppc", "s390", "mips", "mipsel"}
_MSGTYPES = {"SYSCALL": 1300, "PATH": 1302, "IPC": 1303, "SOCKETCALL": 1304, "CONFIG_CHANGE": 1305,
             "SOCKADDR": 1306, "CWD": 1307, "EXECVE": 1309, "PROCTITLE": 1327}
_HARMLESS_FS = {"debugfs", "tracefs"}  # file systems Docker's files never live on


@dataclass(frozen=True)
class Coverage:
    status: str                 # "covered", "not covered", "partial" or "disabled"
    rule: Optional[str]         # the rule that decides: records, silences, or leaves it partial
    reason: str
    loaded: bool                # the kernel's rules (auditctl -l); False: only declared in rule files
    origin: str = ""            # where `rule` was read: "auditctl -l", "FILE:LINE"


@dataclass(frozen=True)
class _Access:
    kind: str                   # write, attr, exec
    bits: int                   # 64 or 32: the caller's syscall table
    name: str                   # the path the kernel records
    label: str                  # how the verdict names it
    below: bool = False         # something beneath the directory `name`


@dataclass(frozen=True)
class _Verdict:
    state: str
    rule: Optional[Rule]
    why: str


def file_coverage(rules: RuleSet, path: str, *, target: Optional[str] = None, directory: bool = False,
                  executable: bool = False) -> Coverage:
    """Are changes to `path` (and, executable, its executions) recorded? target: where the symlink
    `path` leads, as resolved on the host."""
    off = _disabled(rules)
    if off:
        return off
    name = target or path
    label = f"{path} (symlink to {target})" if target and target != path else path
    kinds = ("write", "attr") + (("exec",) if executable and not directory else ())
    accesses = [_Access(k, b, name, label) for k in kinds for b in (64, 32)]
    if directory:  # "\0": a name beneath it that no rule can spell
        accesses += [_Access(k, b, name + "/\0", label, True) for k in kinds for b in (64, 32)]
    coverage = _combine(rules, accesses)
    if target and target != path and coverage.status == "not covered":
        link = [_Access(k, 64, path, path) for k in ("write", "attr")]
        by = [v for v in (_summary(_decide(rules, a)) for a in link) if v.state == RECORDED]
        if by:
            return Coverage("partial", by[0].rule.text, f"`{by[0].rule.text}` watches the symlink {path} itself: "
                            f"replacing the link is recorded, but not what happens to {target}, where it leads "
                            f"({coverage.reason})", rules.loaded, by[0].rule.origin)
    return coverage


def docker_exec_recorded(rules: RuleSet, docker_paths: Sequence[str]) -> Coverage:
    """Are executions of the docker client recorded, with their arguments (EXECVE records), as CIS
    5.22/5.23 need to find `docker exec --privileged` / `--user` in the audit log? docker_paths:
    the client binaries, each as the file execve reaches (a symlink's target, not the link)."""
    off = _disabled(rules)
    if off:
        return off
    if not docker_paths:
        return Coverage("not covered", None, "there is no docker client binary whose executions could be recorded",
                        rules.loaded)
    return _combine(rules, [_Access("exec", b, p, p) for p in docker_paths for b in (64, 32)])


def access_recorded(rules: RuleSet, kind: str, path: str) -> Coverage:
    """Would one access by a 64-bit process be recorded? kind: write, attr or exec; path: the file
    as the kernel reaches it (a symlink's target). For explaining a verdict and testing the model."""
    if kind not in _PERM:
        raise ValueError(f"kind is one of {', '.join(_PERM)}, not {kind!r}")
    return _disabled(rules) or _combine(rules, [_Access(kind, 64, path, path)])


def _disabled(rules: RuleSet) -> Optional[Coverage]:
    if rules.enabled != 0:
        return None
    said = "auditctl -s: enabled 0" if rules.enabled_by == "auditctl -s" else "-e 0"
    where = f" at {rules.enabled_by}" if rules.enabled_by and rules.enabled_by != "auditctl -s" else ""
    return Coverage("disabled", said, f"auditing is off ({said}{where}): no rule fires, whatever the rules say",
                    rules.loaded, rules.enabled_by)


# -- one access --------------------------------------------------------------------------------------

def _decide(rules: RuleSet, access: _Access) -> list[_Verdict]:
    """Every way the kernel may decide this access (several when a rule may or may not match)."""
    verdicts: list[_Verdict] = []
    for rule, open_fields in _first_match(rules, "task", lambda r: _match_fields(r, access, task=True)):
        if rule is None:
            for exit_rule, fields in _first_match(rules, "exit", lambda r: _match_exit(r, access)):
                verdicts.append(_exit_verdict(exit_rule, fields))
        elif rule.action == "never":
            verdicts.append(_Verdict(SILENT if not open_fields else SOME, rule,
                                     f"`{rule.text}` turns off syscall auditing for every process created after it "
                                     f"is loaded{_when(open_fields)}"))
        else:
            verdicts.append(_Verdict(RECORDED if not open_fields else SOME, rule,
                                     f"`{rule.text}` records every syscall of the processes it matches"
                                     f"{_when(open_fields)}"))
    return [_excluded(rules, v, access) for v in verdicts]


def _exit_verdict(rule: Optional[Rule], open_fields: list[str]) -> _Verdict:
    if rule is None:
        return _Verdict(SILENT, None, "no rule records them")
    if rule.action == "never":
        return _Verdict(SOME if open_fields else SILENT, rule,
                        f"`{rule.text}` comes first and silences them{_when(open_fields)}")
    if rule.action == "unknown":
        return _Verdict(SOME, rule, f"auditctl -l lists `{rule.text}` twice, and prints a never rule on a path "
                                    "exactly like a watch: the first of the two may silence them")
    return _Verdict(SOME if open_fields else RECORDED, rule,
                    f"recorded by `{rule.text}`" + (f" only when {_fields(open_fields)}" if open_fields else ""))


def _when(open_fields: list[str]) -> str:
    return f", when {_fields(open_fields)}" if open_fields else ""


def _fields(names: list[str]) -> str:
    unique = list(dict.fromkeys(names))
    return "its " + ", ".join(unique) + (" fields match" if len(unique) > 1 else " field matches")


def _first_match(rules: RuleSet, lst: str, match) -> list[tuple[Optional[Rule], list[str]]]:
    """First match wins: each rule that may match is one possible decider; one that surely matches
    ends the walk; (None, []) when the walk can end with no rule matching."""
    found: list[tuple[Optional[Rule], list[str]]] = []
    for rule in rules.rules:
        if rule.list != lst:
            continue
        result, open_fields = match(rule)
        if result == YES:
            return found + [(rule, [])]
        if result == MAYBE:
            found.append((rule, open_fields))
    return found + [(None, [])]


def _summary(verdicts: list[_Verdict]) -> _Verdict:
    states = {v.state for v in verdicts}
    if states == {RECORDED}:
        return verdicts[0]
    if states == {SILENT}:
        return next((v for v in verdicts if v.rule), verdicts[0])
    some = next((v for v in verdicts if v.state == SOME), None)
    if some:
        return _Verdict(SOME, some.rule, some.why)
    recorded = next(v for v in verdicts if v.state == RECORDED)
    return _Verdict(SOME, recorded.rule, recorded.why + ", when no rule before it silences them")


# -- matching ----------------------------------------------------------------------------------------

def _match_exit(rule: Rule, access: _Access) -> tuple[int, list[str]]:
    calls = _match_syscalls(rule, access)
    if calls == NO:
        return NO, []
    result, open_fields = _match_fields(rule, access)
    if calls == MAYBE and result != NO:
        return MAYBE, ["syscall"] + open_fields
    return result, open_fields


def _match_syscalls(rule: Rule, access: _Access) -> int:
    if rule.syscalls is None:
        return YES
    arch = [f for f in rule.fields if f.name == "arch" and f.op == "="]
    bits = _bits(arch[0].value) if arch else 64  # names resolve against the 64-bit table without arch
    if bits is None:
        return MAYBE
    if bits != access.bits:
        return NO  # the numbers name other syscalls in the other table
    if access.kind == "exec" and "execve" in rule.syscalls:
        return YES
    if rule.syscalls & _SYSCALLS[access.kind] or any(s.isdigit() for s in rule.syscalls):
        return MAYBE
    return NO


def _match_fields(rule: Rule, access: _Access, task: bool = False) -> tuple[int, list[str]]:
    return _all_fields(rule, lambda f: YES if f.name == "key" else MAYBE if task else _match_field(rule, f, access))


def _all_fields(rule: Rule, judge: Callable[[Field], int]) -> tuple[int, list[str]]:
    """A rule matches when every field does (fields are ANDed): NO at the first field that cannot
    match; MAYBE, with the fields that depend on what this audit cannot see, when any may."""
    result, open_fields = YES, []
    for f in rule.fields:
        one = judge(f)
        if one == NO:
            return NO, []
        if one == MAYBE:
            result = MAYBE
            open_fields.append(f.name)
    return result, open_fields


def _match_field(rule: Rule, f: Field, access: _Access) -> int:
    if f.op not in ("=", "!="):
        return MAYBE
    if f.name == "perm":
        hit = _PERM[access.kind] in f.value
    elif f.name in ("path", "dir"):
        recursive = f.name == "dir" or rule.watch
        hit = access.name == f.value or (recursive and access.name.startswith(f.value.rstrip("/") + "/"))
        if not hit and access.below and f.value.startswith(access.name[:-1]):
            return MAYBE  # a rule on part of what lies beneath matches some of it
    elif f.name == "arch":
        bits = _bits(f.value)
        if bits is None:
            return MAYBE
        hit = bits == access.bits
    elif f.name == "exe" and access.kind == "exec":
        hit = f.value == access.name  # after execve the process's exe is the program it started
    else:
        return MAYBE
    return YES if hit == (f.op == "=") else NO


def _bits(arch: str) -> Optional[int]:
    value = arch.lower()
    if value in _ARCH64:
        return 64
    if value in _ARCH32:
        return 32
    try:
        return 64 if int(value, 0) & 0x80000000 else 32
    except ValueError:
        return None


def _excluded(rules: RuleSet, verdict: _Verdict, access: _Access) -> _Verdict:
    """The exclude list drops records, whatever the rule's action; then the file system list."""
    if verdict.state == SILENT:
        return verdict
    needed = [("SYSCALL", SILENT, "drops the SYSCALL record, and with it the whole event")]
    if access.kind == "exec":
        needed.append(("EXECVE", SILENT, "drops the EXECVE record, and with it the command's arguments"))
    else:
        needed.append(("PATH", SOME, "drops the PATH records: the events no longer name the file"))
    for msgtype, state, what in needed:
        for rule in rules.rules:
            if rule.list != "exclude":
                continue
            result, open_fields = _match_exclude(rule, _MSGTYPES[msgtype], access)
            if result == YES:
                return _Verdict(state, rule, f"`{rule.text}` {what}")
            if result == MAYBE:
                return _Verdict(SOME, rule, f"`{rule.text}` {what}{_when(open_fields)}")
    for rule in rules.rules:
        fstypes = [f.value for f in rule.values("fstype")]
        if rule.list == "filesystem" and rule.action == "never" and not set(fstypes) <= _HARMLESS_FS:
            return _Verdict(SOME, rule, f"`{rule.text}` records nothing about files on {', '.join(fstypes)} "
                                        "file systems, should this be one")
    return verdict


def _match_exclude(rule: Rule, msgtype: int, access: _Access) -> tuple[int, list[str]]:
    if not rule.fields:
        return NO, []  # audit_filter() matches no rule without fields
    return _all_fields(rule, lambda f: _exclude_field(f, msgtype, access))


def _exclude_field(f: Field, msgtype: int, access: _Access) -> int:
    if f.name == "msgtype":
        number = int(f.value) if f.value.isdigit() else _MSGTYPES.get(f.value.upper())
        if number is None:
            return NO if f.op == "=" else MAYBE  # every type looked at here has its name in _MSGTYPES
        return YES if _compare(msgtype, f.op, number) else NO
    if f.name == "exe" and access.kind == "exec" and f.op in ("=", "!="):
        return YES if (f.value == access.name) == (f.op == "=") else NO
    return YES if f.name == "key" else MAYBE


def _compare(value: int, op: str, other: int) -> bool:
    return {"=": value == other, "!=": value != other, "<": value < other, ">": value > other,
            "<=": value <= other, ">=": value >= other, "&": bool(value & other),
            "&=": value & other == other}[op]


# -- the verdict -------------------------------------------------------------------------------------

def _combine(rules: RuleSet, accesses: list[_Access]) -> Coverage:
    results = [(a, _summary(_decide(rules, a))) for a in accesses]
    states = {v.state for _, v in results}
    if states == {RECORDED}:
        status, decider = "covered", results[0][1]
    elif states == {SILENT}:
        status, decider = "not covered", next((v for _, v in results if v.rule), results[0][1])
    else:
        status = "partial"
        decider = next((v for _, v in results if v.state != RECORDED and v.rule), None) or \
            next(v for _, v in results if v.rule)
    reason = _describe(results)
    if status == "covered" and rules.loaded:
        if rules.enabled is None:
            status, reason = "partial", reason + "; whether auditing is on is not known (no auditctl -s)"
        elif rules.auditd_pid == 0:
            status, reason = "partial", reason + ("; but no audit daemon takes the records (auditctl -s: pid 0): "
                                                  "the kernel only prints them to its log, rate-limited")
    stops = [n for n in rules.notes if "auditctl -R stops" in n]
    if status != "covered" and stops:
        reason += f" (note: {stops[0]})"
    rule = decider.rule
    return Coverage(status, rule.text if rule else None, reason, rules.loaded, rule.origin if rule else "")


def _describe(results: list[tuple[_Access, _Verdict]]) -> str:
    """One clause per distinct verdict: which accesses of what, and why."""
    groups: dict[tuple[str, str], list[_Access]] = {}
    for access, verdict in results:
        groups.setdefault((verdict.state, verdict.why), []).append(access)
    split_bits = len({frozenset(a.bits for a in group) for group in groups.values()}) > 1
    return "; ".join(f"{_accesses(group, split_bits)}: {why}" for (_, why), group in groups.items())


def _accesses(group: list[_Access], split_bits: bool) -> str:
    kinds = [_NOUN[k] for k in dict.fromkeys(a.kind for a in group)]
    text = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
    bits = {a.bits for a in group}
    if split_bits and len(bits) == 1:
        text = f"{bits.pop()}-bit {text}"
    labels = list(dict.fromkeys(a.label for a in group))
    where = {a.below for a in group}
    of = " and ".join(labels)
    if where == {True}:
        of = f"what lies beneath {of}"
    elif where == {False, True}:
        of = f"{of} and what lies beneath"
    return f"{text} of {of}"
