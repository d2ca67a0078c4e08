"""Write a report or facts file so that no reader ever sees half of it, and a symlink planted at
the destination is replaced, never followed (the audit often runs as root)."""
from __future__ import annotations

import os
import stat
import tempfile


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: str, text: str, mode: int = 0o644) -> None:
    try:
        existing = os.lstat(path).st_mode
    except OSError:
        existing = 0
    if stat.S_ISCHR(existing) or stat.S_ISFIFO(existing):
        # `--output /dev/null` or a pipe: write to it. Renaming over it would replace the device
        # node with a regular file (as root, a broken /dev/null for the whole machine).
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
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
