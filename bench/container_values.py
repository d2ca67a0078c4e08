"""Container settings read the way the Docker component that consumes them reads them.

`docker inspect` hands back what the client sent, not what runs: "00" is a user, "cap_net_admin" a
capability, "80-90" a host port, "//etc" a bind source. Each reading below follows the code that
turns the setting into a running container, named in a comment: moby v20.10.24 (Debian's docker.io
here) and moby master of 2026-08; runc's user lookup (libcontainer/user as moby v20.10.24 vendors
it, github.com/moby/sys/user on master), which dockerd itself runs over the image's /etc/passwd
before it hands runc numeric ids; runc's device allow-list and cgroup emulator; the kernel. Where
they differ, the reading is that of the release that would run the setting, and is checked live
on dockerd 20.10 (tests/integration/test_container_values_live.py).

Pure functions over plain values: no I/O. Checks import what they need from bench.check.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

# -- users: runc's GetExecUser (moby/sys/user user.go; moby daemon/oci_linux.go getUser) -------------

# moby/sys/user parseNumeric and runc v1.1 GetExecUser: uids and gids outside 0..2^31-1 are refused
# (ErrRange), so such a container cannot start.
MAX_ID = 2**31 - 1
_GO_ATOI = re.compile(r"[+-]?[0-9]+")


def go_atoi(text: str) -> Optional[int]:
    """strconv.Atoi: an optional sign and ASCII digits, nothing else (no spaces, no underscores,
    none of the other digits Python's int() takes). None where Atoi fails."""
    return int(text) if _GO_ATOI.fullmatch(text) else None


@dataclass(frozen=True)
class ParsedUser:
    text: str
    uid: Optional[int]        # the user part when numeric (Atoi), else None
    name: Optional[str]       # the user part when not numeric; None when numeric or empty
    group: Optional[str]      # the group part as written, None when there is no ':'
    gid: Optional[int]        # the group part when numeric
    error: str = ""           # why runc refuses it: the container cannot start


def parse_user(text: str) -> ParsedUser:
    """Config.User as GetExecUser reads it: parseLine splits on ':' and keeps the first two fields
    (so "a:b:c" is user a, group b); a user part that Atoi reads is a uid whether or not the image's
    /etc/passwd lists it ("00", "+0" and "-0" are uid 0); any other user part is a name that must be
    in the image's /etc/passwd, or the container fails to start. An empty user part keeps the
    default, uid 0 (moby passes no defaults)."""
    parts = text.split(":")
    user = parts[0]
    group = parts[1] if len(parts) > 1 else None
    uid, gid = go_atoi(user), go_atoi(group) if group else None
    errors = [f"{what} {value} is outside 0-{MAX_ID}" for what, value in (("uid", uid), ("gid", gid))
              if value is not None and not 0 <= value <= MAX_ID]
    return ParsedUser(text, uid, None if uid is not None or not user else user, group, gid,
                      "; ".join(errors) + (": runc refuses it, the container cannot start" if errors else ""))


def user_is_root(user: ParsedUser) -> Optional[bool]:
    """True: runs as uid 0 in the container; False: it does not (or cannot start at all); None: a name
    other than root, which is root only if the image's /etc/passwd gives it uid 0."""
    if user.error:
        return False
    if user.uid is not None:
        return user.uid == 0
    if user.name is None:
        return True               # no user part: GetExecUser keeps the default uid 0
    return True if user.name == "root" else None


# The kernel's identity map: a process in the host's user namespace (no userns-remap, --userns=host).
HOST_UID_MAP = "0 0 4294967295"


def container_uid(uid_line: str, uid_map: Optional[str]) -> Optional[int]:
    """The effective uid a process has inside its user namespace, from the host's view of it: the
    Uid line of /proc/<pid>/status (real, effective, saved, filesystem uid, as the host sees them;
    "Uid:" may be left on) and /proc/<pid>/uid_map read from the host (lines "inside outside count":
    outside uids are the reader's, see user_namespaces(7)). None when either is missing or unreadable,
    or the uid is not mapped."""
    words = uid_line.split()
    if words and words[0] == "Uid:":
        words = words[1:]
    if not words or uid_map is None:
        return None
    host = go_atoi(words[1] if len(words) > 1 else words[0])
    if host is None:
        return None
    for line in uid_map.splitlines():
        fields = [go_atoi(w) for w in line.split()]
        if len(fields) != 3 or None in fields:
            continue
        inside, outside, count = fields
        if outside <= host < outside + count:
            return inside + host - outside
    return None


# -- capabilities: moby oci/caps (utils.go TweakCapabilities, NormalizeLegacyCapabilities) ----------

# moby oci/caps/defaults.go DefaultCapabilities (the same list in v20.10.24 and master).
DEFAULT_CAPABILITIES = frozenset({
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE"})
ALL = "ALL"


def normalise_capability(name: str) -> str:
    """NormalizeLegacyCapabilities: upper-cased, CAP_ prefixed unless present; "ALL" (any case) is
    the magic value. (dockerd then refuses a name the kernel does not know; the v20.10 client sends
    the names as typed, so inspect shows them that way.)"""
    name = str(name).upper()
    return name if name == ALL or name.startswith("CAP_") else "CAP_" + name


@dataclass(frozen=True)
class Capabilities:
    granted: frozenset[str]          # CAP_ names in the bounding set (when not `everything`)
    everything: bool = False         # every capability the kernel has, less `withheld`
    withheld: frozenset[str] = frozenset()

    def beyond_default(self) -> frozenset[str]:
        return frozenset() if self.everything else self.granted - DEFAULT_CAPABILITIES

    def dropped_defaults(self) -> frozenset[str]:
        return self.withheld & DEFAULT_CAPABILITIES if self.everything else DEFAULT_CAPABILITIES - self.granted


def _names(values: Any) -> list[str]:
    values = [values] if isinstance(values, str) else (values or [])
    return [normalise_capability(v) for v in values]


def effective_capabilities(cap_add: Any, cap_drop: Any, privileged: bool) -> Capabilities:
    """TweakCapabilities, which sets the bounding set (and, for uid 0, effective and permitted):
    privileged gets every capability; ALL in CapAdd gives every capability except those named in
    CapDrop (an ALL there drops nothing, it is no capability's name); otherwise ALL in CapDrop keeps
    only CapAdd; otherwise the defaults less CapDrop plus CapAdd, so a capability in both is kept."""
    adds, drops = _names(cap_add), _names(cap_drop)
    if privileged:
        return Capabilities(frozenset(), everything=True)
    if ALL in adds:
        return Capabilities(frozenset(), everything=True, withheld=frozenset(drops) - {ALL})
    if ALL in drops:
        return Capabilities(frozenset(adds))
    return Capabilities((DEFAULT_CAPABILITIES - set(drops)) | set(adds))


def short_capability(name: str) -> str:
    return name[4:] if name.startswith("CAP_") else name


# -- security options: moby daemon/oci_linux.go parseSecurityOpt ---------------------------------

def security_options(values: Any) -> list[tuple[str, Optional[str]]]:
    """HostConfig.SecurityOpt as dockerd reads it (daemon/oci_linux.go parseSecurityOpt): `key=value`,
    or `key:value` as clients before 1.12 wrote it, or a bare `no-new-privileges`; in order, so that
    the last of a key wins."""
    found = []
    for option in values or []:
        text = str(option)
        key, sep, value = text.partition("=")
        if not sep and ":" in text:
            key, sep, value = text.partition(":")
        found.append((key, value if sep else None))
    return found


def no_new_privileges(values: Any) -> Optional[bool]:
    """What a container's own no-new-privileges option says (strconv.ParseBool; bare: true), or
    None when it has none and the daemon's default applies."""
    said = None
    for key, value in security_options(values):
        if key == "no-new-privileges":
            said = True if value is None else value in ("1", "t", "T", "TRUE", "true", "True")
    return said


def seccomp_profile(values: Any) -> Optional[str]:
    """The container's own seccomp option: "unconfined", a custom profile's JSON, or None (the
    daemon's profile applies)."""
    said = None
    for key, value in security_options(values):
        if key == "seccomp":
            said = value or ""
    return said


# Actions under which a system call still runs (libseccomp: SCMP_ACT_LOG allows and logs).
_ALLOWING = frozenset({"SCMP_ACT_ALLOW", "SCMP_ACT_LOG"})


def seccomp_allows_everything(profile: str) -> str:
    """Why a custom profile's JSON (as the docker CLI sends it in SecurityOpt) lets every system
    call run: its defaultAction allows or logs and no rule has another action; "" when it blocks
    something, or cannot be read (then nothing is claimed)."""
    try:
        data = json.loads(profile)
    except ValueError:
        return ""
    if not isinstance(data, dict) or str(data.get("defaultAction", "")).upper() not in _ALLOWING:
        return ""
    rules = data.get("syscalls") or []
    if not isinstance(rules, list) or any(not isinstance(r, dict) or str(r.get("action", "")).upper() not in _ALLOWING
                                          for r in rules):
        return ""
    return f"defaultAction {data['defaultAction']}" + (", and no rule denies a call" if rules else ", no rules")


# -- shared namespaces: --network/--pid/--ipc container:X join X's namespace ----------------------

NAMESPACE_MODES = {"network": "NetworkMode", "pid": "PidMode", "ipc": "IpcMode"}


def shared_with(inspect: Mapping[str, Any]) -> list[str]:
    """The containers (id or name, as given) whose namespaces this one joins."""
    host_config = inspect.get("HostConfig") or {}
    return sorted({str(host_config.get(mode) or "")[len("container:"):] for mode in NAMESPACE_MODES.values()
                   if str(host_config.get(mode) or "").startswith("container:")})


def find_container(containers: Iterable[Any], ref: str) -> Optional[Any]:
    """A container (ContainerFacts) named by id, id prefix or name, as dockerd finds it."""
    ref = ref.lstrip("/")
    for container in containers:
        if ref and (container.id.startswith(ref) or container.name == ref):
            return container
    return None


@dataclass(frozen=True)
class Namespace:
    mode: str                      # the mode that decides: "host", "bridge", "" ...; "" also when unknown
    via: tuple[str, ...] = ()      # the containers followed to it
    unknown: str = ""              # why it cannot be told


def namespace_of(inspect: Mapping[str, Any], kind: str, containers: Iterable[Any]) -> Namespace:
    """The namespace a container really has: a container:X mode takes X's, the host's included,
    however long the chain."""
    pool, via, current = list(containers), [], inspect
    while True:
        mode = str((current.get("HostConfig") or {}).get(NAMESPACE_MODES[kind]) or "")
        if not mode.startswith("container:"):
            return Namespace(mode, tuple(via))
        ref = mode[len("container:"):]
        target = find_container(pool, ref)
        if target is None or target.error or target.name in via:
            why = ("a loop" if target is not None and target.name in via else
                   target.error if target is not None else "it is not known")
            return Namespace("", tuple(via + [ref]), unknown=f"shares the {kind} namespace of {ref}: {why}")
        via.append(target.name)
        current = target.inspect
