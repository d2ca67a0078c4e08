"""Where the Docker files are on this host, and their owner, group, mode and type.

A role names a file by what it is ("docker.service", "tls-key") so that checks need not know where a
distribution keeps it. Each path is stat'ed once, however many checks look at it.
"""
from __future__ import annotations

import errno
import os
import stat
import struct
from typing import Iterable, Optional

from bench.daemon.view import DaemonView, build_view
from bench.facts import DaemonFacts, Facts, FileFacts, FilesFacts
from bench.hostio import Host

# systemd's unit search path, highest precedence first: a unit in /etc overrides the packaged one.
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
             "/lib/systemd/system", "/usr/lib/systemd/system")
BIN_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin")
# systemd's user unit search path (after the user's own ~/.config/systemd/user): a rootless daemon
# is started by its user's systemd, never by the system units above.
USER_UNIT_DIRS = ("/etc/systemd/user", "/usr/local/lib/systemd/user", "/usr/lib/systemd/user", "/lib/systemd/user")
# systemd's default PATH for services: what a containerd started by its unit searches for shims.
SYSTEMD_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
SHIMS = ("containerd-shim", "containerd-shim-runc-v1", "containerd-shim-runc-v2")

def locate(host: Host, facts: Facts) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Paths per role on this host, and a note per role for a human. The daemon's own files (its
    TLS files, API sockets, data root) are where the daemon view says they are."""
    found: dict[str, list[str]] = {}
    notes: dict[str, str] = {}
    daemon = facts.daemon

    unit_dirs = UNIT_DIRS
    home = _rootless_home(host, daemon)
    if daemon.rootless:
        # A rootless daemon runs from its user's systemd units; the system's docker.service and
        # docker.socket start another daemon (the system one), whose files are not this one's.
        unit_dirs = ((f"{home}/.config/systemd/user",) if home else ()) + USER_UNIT_DIRS
    for unit in ("docker.service", "docker.socket"):
        path = _first_existing(host, [f"{d}/{unit}" for d in unit_dirs])
        found[unit] = [path] if path else []
        if not path:
            notes[unit] = f"no {unit} unit in {', '.join(unit_dirs)}"
            if daemon.rootless:
                notes[unit] = (f"rootless daemon (uid {daemon.uid}): no {unit} user unit in {', '.join(unit_dirs)} "
                               "(the system's units start the system daemon, not this one)")
    dropins: list[str] = []
    for d in unit_dirs:
        dropins += [f"{d}/docker.service.d/{n}" for n in _listdir(host, f"{d}/docker.service.d") if n.endswith(".conf")]
    found["docker.service.d"] = _unique(host, dropins)

    rootless_home = _rootless_config_dir(daemon)
    etc_docker = rootless_home or "/etc/docker"
    found["etc-docker"] = [etc_docker] if _exists(host, etc_docker) else []
    if not found["etc-docker"]:
        notes["etc-docker"] = f"{etc_docker} does not exist"

    config_file = daemon.config_file or "/etc/docker/daemon.json"
    found["daemon.json"] = [config_file] if _exists(host, config_file) else []
    if not found["daemon.json"]:
        notes["daemon.json"] = f"{config_file} does not exist (dockerd runs on its flags alone)"

    # Read by the system daemon's init script or unit only.
    _locate_system_files(host, daemon, found, notes, "configures the system daemon, not this one",
                         (("default-docker", "/etc/default/docker"), ("sysconfig-docker", "/etc/sysconfig/docker")))

    certs_d = f"{etc_docker}/certs.d"
    certs: list[str] = []
    for registry in _listdir(host, certs_d):
        registry_dir = f"{certs_d}/{registry}"
        if host.is_dir(registry_dir):
            certs += [f"{registry_dir}/{name}" for name in _listdir(host, registry_dir)]
    found["registry-certs"] = certs
    if not certs:
        notes["registry-certs"] = f"no registry certificates under {certs_d}/<registry>/"

    # The view reads the socket unit (fd:// sockets are its ListenStream): let it see the unit.
    facts.files = FilesFacts(error=None, locations=dict(found),
                             files={p: _with_content(host, p) for p in found["docker.socket"]})
    view = build_view(facts)
    _locate_tls(host, view, found, notes)
    _locate_sockets(host, view, found, notes)

    found["docker-binary"] = ["/usr/bin/docker"] if _exists(host, "/usr/bin/docker") else []
    if not found["docker-binary"]:
        notes["docker-binary"] = "/usr/bin/docker does not exist"
    # /proc/PID/exe needs ptrace rights, which an audit from a container lacks: the absolute
    # program path of the daemon's command line names the same file then. A bare name says nothing
    # about which file runs, so nothing is guessed.
    program = daemon.exe or (daemon.argv[0] if daemon.argv and daemon.argv[0].startswith("/") else None)
    found["daemon-binary"] = _unique(host, [program] if program else [])
    if not program:
        notes["daemon-binary"] = "the daemon's executable is not known"
    for role, path in (("docker-containerd", "/usr/bin/docker-containerd"), ("docker-runc", "/usr/bin/docker-runc")):
        found[role] = [path] if _exists(host, path) else []
        if not found[role]:
            notes[role] = f"{path} does not exist on this host (engines after 17.x ship containerd and runc)"
    for role, name in (("containerd-binary", "containerd"), ("runc-binary", "runc")):
        path = _first_existing(host, [f"{d}/{name}" for d in BIN_DIRS])
        found[role] = [path] if path else []
        if not path:
            notes[role] = f"no {name} binary in {', '.join(BIN_DIRS)}"

    _locate_containerd(host, view, found, notes)

    root, why = view.data_root()
    if root is None:
        notes["data-root"] = why  # the role stays unknown: its checks are ERROR, not judged on a guess
        return found, notes
    found["data-root"] = [root] if _exists(host, root) else []
    if not found["data-root"]:
        notes["data-root"] = f"{root} does not exist"
    return found, notes


def _locate_tls(host: Host, view: DaemonView, found: dict[str, list[str]], notes: dict[str, str]) -> None:
    """The TLS files dockerd loads, as it resolves them (DOCKER_CERT_PATH, its user's ~/.docker)."""
    roles = {"tls-ca": "ca", "tls-cert": "cert", "tls-key": "key"}
    if view.config.error:
        for role in roles:
            found[role], notes[role] = [], "daemon configuration unknown"
        return
    tls = view.tls()
    for role, attr in roles.items():
        path = getattr(tls, attr)
        if tls.mode == "none" or not path:
            named = view.config.value({"ca": "tlscacert", "cert": "tlscert", "key": "tlskey"}[attr])
            found[role] = [view.resolve(str(named))] if named else []
            notes[role] = (f"{named} is named but TLS is not enabled" if named else
                           "the daemon is not configured for TLS" if tls.mode == "none" else
                           f"dockerd would find no {attr} file ({tls.sources.get(attr, '')})")
        else:
            found[role] = [view.resolve(str(path))]


def _locate_sockets(host: Host, view: DaemonView, found: dict[str, list[str]], notes: dict[str, str]) -> None:
    """The unix sockets the API is served on: those the daemon holds, else those it declares."""
    listeners = view.listeners() if not view.config.error or view.facts.daemon.listeners is not None else None
    if listeners is None:
        sockets = ["/var/run/docker.sock"]
    else:
        sockets = [view.resolve(listener.address) for listener in listeners.unix]
    found["api-socket"] = [p for p in _unique(host, sockets) if _exists(host, p)]
    if not found["api-socket"]:
        notes["api-socket"] = "the daemon listens on no unix socket that exists here"


def _locate_system_files(host: Host, daemon: DaemonFacts, found: dict[str, list[str]], notes: dict[str, str],
                         whose: str, roles: tuple[tuple[str, str], ...]) -> None:
    """Files at fixed paths that serve the system daemon or containerd: none of a rootless daemon's."""
    for role, path in roles:
        if daemon.rootless:
            found[role] = []
            notes[role] = f"rootless daemon (uid {daemon.uid}): {path} {whose}"
            continue
        found[role] = [path] if _exists(host, path) else []
        if not found[role]:
            notes[role] = f"{path} does not exist"


def _locate_containerd(host: Host, view: DaemonView, found: dict[str, list[str]], notes: dict[str, str]) -> None:
    """containerd's files: the socket the daemon uses, the system containerd's state directory and
    configuration, and the shims as containerd finds them."""
    _locate_system_files(host, view.facts.daemon, found, notes, "belongs to the system containerd, not its own",
                         (("run-containerd", "/run/containerd"), ("containerd-config", "/etc/containerd/config.toml")))

    socket = view.containerd_socket()
    if socket.error:
        notes["containerd-socket"] = socket.error   # unknown: its checks are ERROR, not judged on a guess
    else:
        path = str(socket.value)
        found["containerd-socket"] = [path] if _exists(host, path) else []
        notes["containerd-socket"] = (f"{path} ({socket.source})" if found["containerd-socket"]
                                      else f"{path} does not exist ({socket.source})")
        if socket.conflict or socket.caveat:
            notes["containerd-socket"] += "; " + "; ".join(x for x in (socket.conflict, socket.caveat) if x)

    dirs, why = _shim_path(view, found)
    for name in SHIMS:
        path = _first_existing(host, [f"{d}/{name}" for d in dirs])
        found[name] = [path] if path else []
        notes[name] = f"found on {why}" if path else f"no {name} on {why}"


def _shim_path(view: DaemonView, found: dict[str, list[str]]) -> tuple[list[str], str]:
    """Where containerd looks for a shim: its PATH (exec.LookPath), then beside its own executable
    (containerd runtime/v2/shim/util.go Command). The containerd dockerd starts inherits dockerd's
    PATH; a system containerd runs with systemd's default PATH."""
    managed = view.managed_containerd()
    environ = view.facts.daemon.environ or {}
    if managed is not None and environ.get("PATH"):
        dirs = [d for d in environ["PATH"].split(":") if d.startswith("/")]
        why = "the PATH of the containerd the daemon started (dockerd's)"
        program = managed[0].argv[0] if managed[0].argv else ""
    else:
        dirs, why = list(SYSTEMD_PATH), "systemd's default PATH"
        program = (found.get("containerd-binary") or [""])[0]
    if program.startswith("/"):
        beside = os.path.dirname(program)
        if beside not in dirs:
            dirs.append(beside)
            why += f" and {beside}, beside containerd"
    return dirs, why


def _with_content(host: Host, path: str) -> FileFacts:
    facts = stat_file(host, path)
    if facts.exists and facts.kind == "file":
        try:
            facts.content = host.read_text(path, limit=64 * 1024)
        except OSError:
            pass
    return facts


def _rootless_home(host: Host, daemon: DaemonFacts) -> Optional[str]:
    """The home directory of a rootless daemon's user (from its daemon.json path, else /etc/passwd)."""
    if not daemon.rootless:
        return None
    if daemon.config_file and "/.config/docker/" in daemon.config_file:
        return daemon.config_file.split("/.config/docker/", 1)[0]
    return host.home_of(daemon.uid) if daemon.uid not in (None, 0) else None


def _rootless_config_dir(daemon: DaemonFacts) -> Optional[str]:
    if daemon.rootless and daemon.config_file and daemon.config_file.endswith("/daemon.json"):
        return os.path.dirname(daemon.config_file)
    return None


def _listdir(host: Host, path: str) -> list[str]:
    try:
        return host.listdir(host.resolve(path))
    except OSError:
        return []


def _exists(host: Host, path: str) -> bool:
    try:
        host.lstat(path)
        return True
    except OSError as exc:
        return exc.errno not in (errno.ENOENT, errno.ENOTDIR)


def _first_existing(host: Host, paths: Iterable[str]) -> Optional[str]:
    for path in paths:
        if _exists(host, path):
            return path
    return None


def _unique(host: Host, paths: Iterable[str]) -> list[str]:
    """Drop paths that are the same file reached another way (/lib -> /usr/lib, /var/run -> /run)."""
    seen: set[str] = set()
    out = []
    for path in paths:
        try:
            key = host.resolve(path)
        except OSError:
            key = path
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


_KINDS = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISSOCK, "socket"), (stat.S_ISFIFO, "fifo"),
          (stat.S_ISCHR, "char"), (stat.S_ISBLK, "block"), (stat.S_ISLNK, "symlink"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "other"


def stat_file(host: Host, path: str) -> FileFacts:
    """Owner, group, mode and type of a path. A symlink is judged by its target, as the benchmark
    means the file the daemon uses (a link's own mode is always 0777); `link` records the hop."""
    facts = FileFacts(path=path)
    try:
        st = host.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            facts.link = host.readlink(path)
            resolved = host.resolve(path)
            facts.resolved = resolved
            try:
                st = host.lstat(resolved)
            except FileNotFoundError:
                facts.kind = "symlink"
                facts.error = None
                return facts  # dangling: exists stays False
    except FileNotFoundError:
        return facts
    except PermissionError:
        facts.error = "permission denied"
        return facts
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            facts.error = "symlink loop"
        elif exc.errno == errno.ENOTDIR:
            return facts
        else:
            facts.error = exc.strerror or str(exc)
        return facts
    facts.exists = True
    facts.kind = _kind(st.st_mode)
    facts.mode = stat.S_IMODE(st.st_mode)
    facts.uid, facts.gid = st.st_uid, st.st_gid
    facts.owner = host.user_name(st.st_uid)
    facts.group = host.group_name(st.st_gid)
    try:
        facts.acl = parse_acl(host.access_acl(facts.resolved or path))
    except (OSError, ValueError) as exc:
        facts.error = f"its access ACL cannot be read: {exc}"
    return facts


_ACL_TAGS = {0x02: "user", 0x08: "group", 0x10: "mask"}   # ACL_USER, ACL_GROUP, ACL_MASK (acl_ea.h)


def parse_acl(raw: Optional[bytes]) -> list[str]:
    """The named entries and mask of a system.posix_acl_access value (version 2, then (tag u16,
    perm u16, id u32) entries, little-endian), as getfacl writes them."""
    if not raw:
        return []
    if len(raw) < 4 or (len(raw) - 4) % 8 or struct.unpack_from("<I", raw)[0] != 2:
        raise ValueError("not a version 2 POSIX ACL")
    entries = []
    for offset in range(4, len(raw), 8):
        tag, perm, ident = struct.unpack_from("<HHI", raw, offset)
        if tag in _ACL_TAGS:
            bits = "".join(c if perm & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))
            entries.append(f"{_ACL_TAGS[tag]}:{'' if tag == 0x10 else ident}:{bits}")
    return entries


def collect_files(host: Host, facts: Facts, extra_paths: Iterable[str] = ()) -> FilesFacts:
    """Locate every role and stat each path once; the socket units' text is kept (the view reads
    their ListenStream)."""
    files = FilesFacts(error=None)
    files.locations, files.notes = locate(host, facts)
    daemon = facts.daemon
    config = None if daemon.unavailable() else build_view(facts).config
    if daemon.unavailable() or (config is not None and config.error):
        reason = daemon.unavailable() or (config.error if config else "")
        for role in ("tls-ca", "tls-cert", "tls-key", "api-socket", "daemon.json", "daemon-binary", "containerd-socket"):
            if not files.locations.get(role):
                files.notes[role] = reason
                files.locations.pop(role, None)
    for path in files.locations.get("docker.socket", []):
        files.files[path] = _with_content(host, path)
    wanted: list[str] = []
    for paths in files.locations.values():
        wanted += paths
    wanted += list(extra_paths)
    for path in wanted:
        if path not in files.files:
            files.files[path] = stat_file(host, path)
    return files
