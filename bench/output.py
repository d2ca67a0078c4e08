"""Write a report or facts file so that no reader ever sees half of it, and a symlink planted at
the destination is replaced, never followed (the audit often runs as root)."""
from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from typing import Optional

# A path that names one of this process's own descriptors (/dev/stdout is /proc/self/fd/1).
_OWN_FD = re.compile(r"/(?:proc/(self|\d+)|dev)/fd/(\d+)")
# Terminals (ttys, consoles, pseudo-terminals): with FIFOs and /dev/null, all a link may lead a report
# to. Opening some devices acts (a watchdog starts), writing others harms (/dev/mem).
_TTY_MAJORS = frozenset({4, 5, *range(136, 144)})
_MAX_LINKS = 40


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is_stream(mode: int) -> bool:
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _own_descriptor(path: str) -> Optional[int]:
    """The descriptor of this process that path leads to through its links (/dev/stdout,
    /dev/fd/3, /proc/self/fd/1), whatever that descriptor is open on: a pipe, a terminal, the
    regular file of `> out.json`, journald's socket."""
    current = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        match = _OWN_FD.fullmatch(current)
        if match and match.group(1) in (None, "self", str(os.getpid())):
            return int(match.group(2))
        try:
            target = os.readlink(current)
        except OSError:
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), target))
    return None


def _leads_to_stream(path: str) -> bool:
    """A device or FIFO named as the destination itself (`-o /dev/null`, `-o /dev/tty`); through a
    link only a FIFO, /dev/null or a terminal, as a link may have been planted."""
    try:
        if _is_stream(os.lstat(path).st_mode):
            return True
        st = os.stat(path)
    except OSError:
        return False
    if stat.S_ISFIFO(st.st_mode):
        return True
    if not stat.S_ISCHR(st.st_mode):
        return False
    try:
        null = os.stat("/dev/null").st_rdev
    except OSError:
        null = None
    return st.st_rdev == null or os.major(st.st_rdev) in _TTY_MAJORS


def _write_descriptor(number: int, text: str) -> None:
    # A copy of the descriptor: closing it leaves the process's stdout open; writing goes on where
    # the descriptor stands (the end of `>> log`, the start of `> out.json`).
    with os.fdopen(os.dup(number), "w", encoding="utf-8") as handle:
        handle.write(text)


def _write_through(path: str, text: str) -> bool:
    """Write text to the device or FIFO path is or leads to; False, having written nothing, when
    what was opened is not one (the link was changed since it was looked at)."""
    # No O_CREAT and no O_TRUNC: opening can neither make a file where a link points nor empty one.
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        if not _is_stream(os.fstat(fd).st_mode):
            return False
        handle.write(text)
    return True


def check_writable(path: str) -> None:
    """Raise the OSError that writing path would meet, as far as can be told without writing:
    so that a set of outputs is refused before any of them is written."""
    own = _own_descriptor(path)
    if own is not None:
        try:
            os.fstat(own)
        except OSError:
            raise OSError(errno.EBADF, f"{os.strerror(errno.EBADF)} (descriptor {own} is not open)", path) from None
        return
    if _leads_to_stream(path):
        if not os.access(path, os.W_OK):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), path)
        return
    try:
        existing = os.lstat(path).st_mode
    except FileNotFoundError:
        existing = 0
    if stat.S_ISDIR(existing):
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    directory = os.path.dirname(os.path.abspath(path))
    if not stat.S_ISDIR(os.stat(directory).st_mode):
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), directory)
    # The temporary file is made in the directory and renamed there: both need write and search,
    # which os.access grants root anywhere but on a read-only file system.
    if os.statvfs(directory).f_flag & os.ST_RDONLY:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), directory)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), directory)


def write_atomically(path: str, text: str, mode: int = 0o644) -> None:
    # /dev/stdout, /dev/fd/N: the process's own descriptor, whatever it is open on. `--output
    # /dev/null`, a pipe, a terminal, or a link to one: write to it. Renaming over any of them would
    # replace the device node or the link with a regular file (as root, a broken /dev/null or
    # /dev/stdout for the whole machine). A link to a regular file or to nothing is still replaced
    # below, never followed.
    own = _own_descriptor(path)
    if own is not None:
        _write_descriptor(own, text)
        return
    if _leads_to_stream(path) and _write_through(path, text):
        return
    directory = os.path.dirname(os.path.abspath(path))
    # mkstemp opens with O_CREAT | O_EXCL: it makes a new file or fails, whatever sits at its name.
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode & ~_umask())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
