"""Audit rules as the kernel holds them: rule text in, an ordered rule set out.

Rules come from one of two places, and a RuleSet says which:
  * loaded: `auditctl -l`, the kernel's own lists. It prints every exit rule on all syscalls whose
    only fields are path or dir, perm and key as a watch, `-w PATH -p PERMS -k KEY`, whatever its
    action (is_watch() in audit-userspace's auditctl-listing.c looks at fields and syscalls only):
    `-a never,exit -F path=P -F perm=wa` is listed exactly like `-w P -p wa`. Other rules print as
    `-a ACTION,LIST [-F arch=b64] -S all|NAMES -F FIELD=VALUE ... -F key=KEY`.
  * declared: rule files, which say what auditctl would load at boot (`augenrules --load`, which
    the auditd unit runs, concatenates /etc/audit/rules.d/*.rules into /etc/audit/audit.rules and
    loads it). Whether the kernel holds them now is unknown.

Loading is replayed as auditctl does it: `-w PATH` becomes an exit rule on all syscalls with perms
rwxa unless -p says otherwise (a dir= rule, recursive, when PATH is a directory at load time); an
exit rule without -S applies to all syscalls; `-A` puts a rule first; `-D` deletes every rule (or
those with `-k KEY`); `-d`/`-W` delete one; the last `-e` sets enabled (0 off, 1 on, 2 on and
locked). A rule file stops loading at the first rule the kernel refuses (a duplicate, anything
after `-e 2`) unless it says -i or -c.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

if TYPE_CHECKING:
    from bench.facts import AuditFacts

LOADED_SOURCE = "auditctl -l"  # AuditFacts.source when the rules are the kernel's
LISTS = ("exit", "task", "exclude", "user", "filesystem", "io_uring", "entry")
ACTIONS = ("always", "never", "possible")
_FIELD = re.compile(r"^([A-Za-z_0-9]+)(!=|<=|>=|&=|=|<|>|&)(.*)$")
# Options that take no argument, and those whose argument is no part of any rule.
_FLAGS = {"-i", "-c", "-l", "-s", "-m", "-v", "-h", "--help", "--reset-lost", "--reset_lost"}
_SETTINGS = {"-b", "-f", "-r", "-t", "-q", "-R", "--backlog_wait_time", "--loginuid-immutable",
             "--signal"}


@dataclass(frozen=True)
class Field:
    name: str   # path, dir, perm, arch, auid, msgtype, exe, key, ...
    op: str     # =, !=, <, >, <=, >=, &, &=
    value: str


@dataclass(frozen=True)
class Rule:
    text: str                             # as written (or as auditctl -l printed it)
    origin: str                           # "auditctl -l" or "FILE:LINE"
    list: str                             # exit, task, exclude, user, filesystem, io_uring
    action: str                           # always, never; unknown: auditctl -l cannot tell
    syscalls: Optional[frozenset[str]]    # None: all syscalls
    fields: tuple[Field, ...] = ()
    watch: bool = False                   # written -w: a dir= rule when PATH is a directory

    def values(self, name: str) -> list[Field]:
        return [f for f in self.fields if f.name == name]

    def identity(self) -> tuple:
        """What the kernel compares to refuse a duplicate or find the rule -d deletes."""
        return (self.list, self.action, self.syscalls, self.fields)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]               # in the kernel's order: the first that matches decides
    loaded: bool                          # True: the kernel's lists; False: declared in rule files
    source: str                           # "auditctl -l" or the files read
    enabled: Optional[int] = None         # 0 off, 1 on, 2 on and locked; None: not known
    enabled_by: str = ""                  # where enabled was read: "FILE:LINE" of -e, or "auditctl -s"
    auditd_pid: Optional[int] = None      # who receives the records (auditctl -s); 0: nobody
    notes: tuple[str, ...] = ()           # lines not understood, rules that would not load


@dataclass
class _Loader:
    loaded: bool
    rules: list[Rule] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    enabled: Optional[int] = None
    enabled_by: str = ""
    keep_going: bool = False              # -i / -c: auditctl -R carries on past a refused rule
    stopped: str = ""                     # why auditctl -R would have stopped loading here


def parse_rules(lines: Iterable[str], *, loaded: bool, source: str,
                origins: Optional[Sequence[str]] = None, status: Optional[dict[str, str]] = None) -> RuleSet:
    """The rule set that `lines` make, read in order as auditctl loads them.

    loaded: True for `auditctl -l` output (then `status` is `auditctl -s` as key -> value, which is
    where enabled and auditd's pid come from), False for the lines of rule files in load order.
    origins: where each line was read ("FILE:LINE"), parallel to lines."""
    state = _Loader(loaded)
    lines = list(lines)
    for index, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("#") or (loaded and line == "No rules"):
            continue
        origin = origins[index] if origins and index < len(origins) else (source if loaded else f"line {index + 1}")
        if state.stopped:
            state.notes.append(f"`{line}` ({origin}) would not load: {state.stopped}")
            continue
        try:
            _apply(state, line, origin)
        except ValueError as exc:
            state.notes.append(f"`{line}` ({origin}) is not understood: {exc}")
    enabled, enabled_by, pid = state.enabled, state.enabled_by, None
    if status:
        if _int(status.get("enabled")) is not None:
            enabled, enabled_by = _int(status.get("enabled")), "auditctl -s"
        pid = _int(status.get("pid"))
    return RuleSet(tuple(state.rules), loaded, source, enabled, enabled_by, pid, tuple(state.notes))


def rules_of(audit: "AuditFacts") -> RuleSet:
    """The rule set recorded facts hold: the kernel's when auditctl -l listed it, else the files'."""
    return parse_rules(audit.rules, loaded=audit.source == LOADED_SOURCE, source=audit.source,
                       origins=audit.origins, status=audit.status)


def _int(text: Optional[str]) -> Optional[int]:
    try:
        return int(str(text).split()[0])
    except (ValueError, IndexError):
        return None


def _words(line: str) -> list[str]:
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        words = line.split()
    out = []
    for word in words:  # getopt also takes "-Fpath=/x" and "-k"+"key" glued together
        if len(word) > 2 and word[0] == "-" and word[1] != "-" and word[1] in "aAdwWpkFSCeDbfrR":
            out += [word[:2], word[2:]]
        else:
            out.append(word)
    return out


def _apply(state: _Loader, line: str, origin: str) -> None:
    words = _words(line)
    spec: dict[str, list[str]] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word in _FLAGS:
            if word in ("-i", "-c"):
                state.keep_going = True
            i += 1
            continue
        if word == "-D":
            spec.setdefault("-D", [])
            i += 1
            continue
        if i + 1 >= len(words):
            raise ValueError(f"{word} needs a value")
        spec.setdefault(word, []).append(words[i + 1])
        i += 2
    if "-e" in spec:
        value = _int(spec["-e"][-1])
        if value not in (0, 1, 2):
            raise ValueError("-e takes 0, 1 or 2")
        if state.enabled == 2 and not state.loaded:
            return _refused(state, line, origin, "the configuration is locked (-e 2) before it")
        state.enabled, state.enabled_by = value, origin
    if "-D" in spec:
        keys = spec.get("-k", [])
        state.rules = [r for r in state.rules if keys and not any(_key_is(r, k) for k in keys)]
        return
    adding = [o for o in ("-a", "-A", "-w") if o in spec]
    removing = [o for o in ("-d", "-W") if o in spec]
    if len(adding) + len(removing) > 1:
        raise ValueError("more than one of -a, -A, -d, -w, -W")
    if not adding and not removing:
        unknown = [o for o in spec if o not in _SETTINGS and o != "-e"]
        if unknown:
            raise ValueError(f"unknown option {unknown[0]}")
        return
    rule = _rule(spec, line, origin)
    if removing:
        state.rules = [r for r in state.rules if r.identity() != rule.identity()]
        return
    if not state.loaded:
        if state.enabled == 2:
            return _refused(state, line, origin, "the configuration is locked (-e 2) before it")
        if any(r.identity() == rule.identity() for r in state.rules):
            return _refused(state, line, origin, "the kernel already has this rule (Rule exists)")
    if state.loaded and rule.watch and any(r.identity() == rule.identity() for r in state.rules):
        # The kernel refuses a second identical rule, so two identical watches in auditctl -l differ
        # where the listing does not show: one is a never (or io_uring) rule printed as a watch.
        rule = replace(rule, action="unknown")
        state.rules = [replace(r, action="unknown") if r.identity() == replace(rule, action="always").identity()
                       else r for r in state.rules]
        state.notes.append(f"auditctl -l lists `{line}` twice: one of them is not what it looks like")
    if "-A" in spec:
        state.rules.insert(0, rule)
    else:
        state.rules.append(rule)


def _refused(state: _Loader, line: str, origin: str, why: str) -> None:
    if state.keep_going:
        state.notes.append(f"`{line}` ({origin}) would be refused: {why}")
    else:
        state.stopped = f"auditctl -R stops at `{line}` ({origin}), which it refuses: {why}"
        state.notes.append(state.stopped)


def _key_is(rule: Rule, key: str) -> bool:
    return any(f.value == key for f in rule.values("key"))


def _rule(spec: dict[str, list[str]], line: str, origin: str) -> Rule:
    fields: list[Field] = []
    watch = "-w" in spec or "-W" in spec
    if watch:
        path = (spec.get("-w") or spec.get("-W") or [""])[0]
        path = path.rstrip("/") or "/"
        lst, action = "exit", "always"
        fields.append(Field("path", "=", path))
        for other in ("-F", "-S", "-C"):
            if other in spec:
                raise ValueError(f"a watch takes no {other}")
    else:
        lst, action = _list_action((spec.get("-a") or spec.get("-A") or spec.get("-d") or [""])[0])
    for text in spec.get("-F", []):
        match = _FIELD.match(text)
        if not match:
            raise ValueError(f"-F {text} is not FIELD OP VALUE")
        name, op, value = match.group(1).lower(), match.group(2), match.group(3)
        if name in ("path", "dir") and op == "=":
            value = value.rstrip("/") or "/"
        fields.append(Field("key" if name == "filterkey" else name, op, value))
    for text in spec.get("-C", []):
        match = _FIELD.match(text)
        fields.append(Field("compare", match.group(2) if match else "=", text))
    perms = spec.get("-p", [])
    if perms:
        if any(set(p) - set("rwxa") for p in perms):
            raise ValueError("-p takes letters of rwxa")
        fields.append(Field("perm", "=", "".join(sorted(set("".join(perms)), key="rwxa".index))))
    elif watch:
        fields.append(Field("perm", "=", "rwxa"))  # what auditctl gives a watch without -p
    fields += [Field("key", "=", k) for k in spec.get("-k", [])]
    syscalls: Optional[frozenset[str]] = None
    names = [n for text in spec.get("-S", []) for n in text.split(",") if n]
    if names and "all" not in names:
        syscalls = frozenset(names)
    if lst in ("task", "exclude", "user", "filesystem") and names:
        raise ValueError(f"the {lst} list takes no syscalls")
    return Rule(line, origin, lst, action, syscalls, _ordered(fields), watch)


def _ordered(fields: list[Field]) -> tuple[Field, ...]:
    """Fields in one order, so that a rule file's form and auditctl -l's compare equal."""
    rank = {"arch": 0, "path": 1, "dir": 1, "perm": 8, "key": 9}
    return tuple(sorted(fields, key=lambda f: rank.get(f.name, 5)))


def _list_action(text: str) -> tuple[str, str]:
    parts = [p.strip().lower() for p in text.split(",")]
    lists = [p for p in parts if p in LISTS]
    actions = [p for p in parts if p in ACTIONS]
    if len(parts) != 2 or len(lists) != 1 or len(actions) != 1:
        raise ValueError(f"`{text}` is not LIST,ACTION")
    if lists[0] == "entry":
        raise ValueError("the entry list is gone from the kernel (since 2.6.31); rules on it do not load")
    return lists[0], ("always" if actions[0] == "possible" else actions[0])


# -- rule files as augenrules loads them ----------------------------------------------------------

def augenrules_order(files: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """The lines augenrules writes to /etc/audit/audit.rules from rules.d, and where each came from.

    files: (path, text) of /etc/audit/rules.d/*.rules. They are read in version order (`ls -v`,
    `sort -V` in newer releases: 9-x.rules before 10-y.rules), comments and blank lines dropped;
    the last bare -D goes first, then the last -b and -f; the last -e goes last."""
    ordered = sorted(files, key=lambda f: _version_key(f[0].rsplit("/", 1)[-1]))
    body: list[tuple[str, str]] = []
    first: dict[str, tuple[str, str]] = {}
    last: Optional[tuple[str, str]] = None
    for path, text in ordered:
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.rstrip("\r").strip()
            if not line or line.startswith("#"):
                continue
            item = (line, f"{path}:{number}")
            if line.startswith("-e"):
                last = item
            elif line == "-D":
                first["-D"] = item
            elif line.startswith(("-b", "-f")):
                first[line[:2]] = item
            else:
                body.append(item)
    items = [first[k] for k in ("-D", "-b", "-f") if k in first] + body + ([last] if last else [])
    return [line for line, _ in items], [origin for _, origin in items]


def _version_key(name: str) -> list[tuple[int, object]]:
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|\D+", name)]
