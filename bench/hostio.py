"""The one narrow seam between collectors and the host: files, the process table, commands.

Everything the collectors learn about the host (the Engine API aside) goes through a Host. It is
read-only by construction: there is no method that writes. `root` lets the auditor read a host
mounted elsewhere (e.g. `-v /:/host:ro`); paths given to and returned by a Host are always host
paths ("/etc/docker"), never the prefixed ones.
"""
from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
from dataclasses import dataclass
from typing import Any, Optional

from bench import procnet
from bench.accounts import Group, User, parse_group, parse_passwd
from bench.facts import Listener
from bench.procnet import socket_inode

MAX_READ = 4 * 1024 * 1024
MAX_SYMLINKS = 40


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    name: str
    cmdline: list[str]
    exe: Optional[str] = None
    uid: Optional[int] = None
    started_at: Optional[float] = None    # seconds since the epoch
    ppid: Optional[int] = None


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


class Host:
    def __init__(self, root: str = "/", environ: Optional[dict[str, str]] = None):
        self.root = os.path.abspath(root)
        self.environ = dict(os.environ if environ is None else environ)
        self._users: Optional[dict[int, str]] = None
        self._groups: Optional[dict[int, str]] = None
        # One audit sees one snapshot: each path is lstat'ed, each link read, each small file read
        # and the process table listed once, however many collectors ask.
        self._lstats: dict[str, Any] = {}
        self._links: dict[str, Any] = {}
        self._texts: dict[tuple[str, int], Any] = {}
        self._processes: Optional[list[ProcessInfo]] = None

    @property
    def is_local_root(self) -> bool:
        return self.root == "/"

    # -- paths -------------------------------------------------------------------------------
    def real(self, path: str) -> str:
        """The path on this machine for a host path."""
        if self.is_local_root:
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def resolve(self, path: str) -> str:
        """Follow symlinks inside the host root, as the host would. OSError(ELOOP) on loops."""
        parts = [p for p in path.split("/") if p]
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == ".":
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = "/" + "/".join(resolved + [part])
            try:
                st = self.lstat(candidate)
            except FileNotFoundError:
                return "/" + "/".join(resolved + [part] + parts)
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
                target = self.readlink(candidate)
                if target.startswith("/"):
                    resolved = []
                parts = [p for p in target.split("/") if p] + parts
                continue
            resolved.append(part)
        return "/" + "/".join(resolved)

    # -- files ---------------------------------------------------------------------------------
    def lstat(self, path: str) -> os.stat_result:
        return _remembered(self._lstats, path, lambda: os.lstat(self.real(path)))

    def access_acl(self, path: str) -> Optional[bytes]:
        """The POSIX access ACL of a file (its system.posix_acl_access attribute), None without one
        (or where the file system keeps none)."""
        try:
            return os.getxattr(self.real(path), "system.posix_acl_access", follow_symlinks=False)
        except OSError as exc:
            if exc.errno in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
                return None
            raise

    def readlink(self, path: str) -> str:
        return _remembered(self._links, path, lambda: os.readlink(self.real(path)))

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(self.real(path)))

    def read_text(self, path: str, limit: int = MAX_READ) -> str:
        """Read a regular file. Never opens FIFOs or devices (that could hang or have effects).
        Reads of up to MAX_READ (configuration files) are made once and remembered; larger ones
        (audit logs) are not kept."""
        if limit > MAX_READ:
            return self._read_text(path, limit)
        key = (path, limit)
        known = self._texts.get(key)
        if isinstance(known, OSError):
            raise known.with_traceback(None)
        if known is not None:
            return known
        try:
            text = self._read_text(path, limit)
        except OSError as exc:
            self._texts[key] = exc
            raise
        self._texts[key] = text
        return text

    def _read_text(self, path: str, limit: int) -> str:
        real = self.real(self.resolve(path))
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0)
        fd = os.open(real, flags)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, "not a regular file", path)
            chunks = []
            remaining = limit
            while remaining > 0:
                chunk = os.read(fd, min(65536, remaining))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
        finally:
            os.close(fd)
        return b"".join(chunks).decode("utf-8", errors="replace")

    def read_proc(self, path: str, limit: int = 65536) -> str:
        """Read a /proc file (not a regular file as far as stat is concerned)."""
        with open(self.real(path), "rb") as handle:
            return handle.read(limit).decode("utf-8", errors="replace")

    def is_dir(self, path: str) -> bool:
        try:
            return stat.S_ISDIR(os.stat(self.real(self.resolve(path))).st_mode)
        except OSError:
            return False

    # -- users and groups ----------------------------------------------------------------------
    def users(self) -> list[User]:
        """The host's /etc/passwd (OSError when it cannot be read)."""
        return parse_passwd(self.read_text("/etc/passwd"))

    def groups(self) -> list[Group]:
        """The host's /etc/group (OSError when it cannot be read)."""
        return parse_group(self.read_text("/etc/group"))

    def user_name(self, uid: int) -> Optional[str]:
        if self._users is None:
            self._users = {u.uid: u.name for u in _or_none(self.users)}
        return self._users.get(uid) or (_nss_user(uid) if self.is_local_root else None)

    def group_name(self, gid: int) -> Optional[str]:
        if self._groups is None:
            self._groups = {g.gid: g.name for g in _or_none(self.groups)}
        return self._groups.get(gid) or (_nss_group(gid) if self.is_local_root else None)

    def home_of(self, uid: Optional[int]) -> Optional[str]:
        """A user's home directory from /etc/passwd, or None."""
        return next((u.home for u in _or_none(self.users) if u.uid == uid and u.home is not None), None)

    # -- processes -----------------------------------------------------------------------------
    def processes(self) -> list[ProcessInfo]:
        if self._processes is None:
            self._processes = self._list_processes()
        return list(self._processes)

    def _list_processes(self) -> list[ProcessInfo]:
        import psutil

        procs = []
        with _procfs(self):
            for proc in psutil.process_iter(["pid", "ppid", "name", "cmdline", "exe", "uids", "create_time"]):
                data = proc.info
                uids = data.get("uids")
                procs.append(ProcessInfo(
                    pid=data["pid"], name=data.get("name") or "", cmdline=list(data.get("cmdline") or []),
                    exe=data.get("exe") or None, uid=uids.real if uids else None,
                    started_at=data.get("create_time"), ppid=data.get("ppid")))
        return procs

    def proc_link(self, path: str) -> str:
        """Where a /proc link points (/proc/PID/cwd, /proc/PID/root, /proc/PID/ns/mnt), not remembered:
        PIDs are reused."""
        return os.readlink(self.real(path))

    def environment_of(self, pid: int, names: tuple[str, ...]) -> dict[str, str]:
        """The named variables of a process's environment (as it was when it started)."""
        raw = self.read_proc(f"/proc/{pid}/environ", limit=1024 * 1024)
        found = {}
        for entry in raw.split("\0"):
            name, eq, value = entry.partition("=")
            if eq and name in names:
                found[name] = value
        return found

    def changed_at(self, path: str) -> float:
        """When the file a path names last changed: its content (mtime) or its inode (ctime, which
        `cp -p`, `rsync -a` and `touch -d` cannot set back, unlike mtime), and when the path itself
        was re-pointed, if it is a symlink."""
        target = self.lstat(self.resolve(path))
        times = [target.st_mtime, target.st_ctime]
        own = self.lstat(path)
        if stat.S_ISLNK(own.st_mode):
            times.append(own.st_ctime)
        return max(times)

    def listeners(self, pid: int) -> list[Listener]:
        """Every socket a process listens on: its open file descriptors (needs the right to read
        them) matched with the socket tables of its own network namespace."""
        fd_dir = self.real(f"/proc/{pid}/fd")
        inodes = set()
        for name in os.listdir(fd_dir):
            try:
                inode = socket_inode(os.readlink(os.path.join(fd_dir, name)))
            except FileNotFoundError:
                continue  # closed while we looked
            # Anything else (EACCES: the fd directory lists, but its links need ptrace rights, as
            # from a container without CAP_SYS_PTRACE) is raised: the sockets were not seen, which
            # is not "it listens on none".
            if inode is not None:
                inodes.add(inode)
        tables = ((procnet.tcp_listeners, "tcp", False), (procnet.tcp_listeners, "tcp6", True),
                  (procnet.unix_listeners, "unix", None))
        found = []
        for parse, table, ipv6 in tables:
            try:
                text = self.read_proc(f"/proc/{pid}/net/{table}", limit=64 * 1024 * 1024)
            except FileNotFoundError:
                continue  # no IPv6 in this kernel
            listening = parse(text) if ipv6 is None else parse(text, ipv6=ipv6)
            kind = "unix" if table == "unix" else "tcp"
            found += [Listener(kind, address) for inode, address in listening.items() if inode in inodes]
        return sorted(found, key=lambda l: (l.kind, l.address))

    def listening_sockets(self) -> list[tuple[str, str, Optional[int]]]:
        """(protocol, local address, pid) of listening TCP and bound UDP sockets."""
        import psutil

        found = []
        with _procfs(self):
            for conn in psutil.net_connections(kind="inet"):
                tcp = conn.type == socket.SOCK_STREAM
                if tcp and conn.status != psutil.CONN_LISTEN:
                    continue
                if not tcp and conn.raddr:
                    continue
                family = "6" if conn.family == socket.AF_INET6 else ""
                address = f"[{conn.laddr.ip}]:{conn.laddr.port}" if family else f"{conn.laddr.ip}:{conn.laddr.port}"
                found.append((("tcp" if tcp else "udp") + family, address, conn.pid))
        return sorted(set(found), key=lambda f: (f[0], f[1]))

    # -- commands ------------------------------------------------------------------------------
    def run(self, argv: list[str], timeout: float = 10.0) -> CommandResult:
        """Run a read-only query command: an argv list, never a shell."""
        if not isinstance(argv, list) or not argv:
            raise ValueError("commands are argv lists")
        completed = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                                   check=False, shell=False)
        return CommandResult(completed.returncode, completed.stdout.decode("utf-8", "replace"),
                             completed.stderr.decode("utf-8", "replace"))

    def kernel_release(self) -> str:
        if self.is_local_root:
            return os.uname().release
        return self.read_proc("/proc/sys/kernel/osrelease").strip()

    def hostname(self) -> str:
        if self.is_local_root:
            return os.uname().nodename
        return self.read_proc("/proc/sys/kernel/hostname").strip()


def _or_none(read: Any) -> list[Any]:
    """Entries of an accounts file, or none when it cannot be read (names then stay unknown)."""
    try:
        return read()
    except OSError:
        return []


def _remembered(cache: dict[Any, Any], key: Any, compute: Any) -> Any:
    """compute() once per key; an OSError is remembered too and raised again."""
    if key not in cache:
        try:
            cache[key] = compute()
        except OSError as exc:
            cache[key] = exc
    value = cache[key]
    if isinstance(value, OSError):
        raise value.with_traceback(None)
    return value


class _procfs:
    """psutil reads /proc through a module-wide path; point it at the host root while we look."""

    def __init__(self, host: Host):
        self.path = host.real("/proc")

    def __enter__(self) -> None:
        import psutil

        self.saved = psutil.PROCFS_PATH
        psutil.PROCFS_PATH = self.path

    def __exit__(self, *exc: object) -> None:
        import psutil

        psutil.PROCFS_PATH = self.saved


def _nss_user(uid: int) -> Optional[str]:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _nss_group(gid: int) -> Optional[str]:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return None
