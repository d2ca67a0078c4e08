"""/etc/passwd and /etc/group as the host's C library reads them: colon-separated fields, numeric
ids. Parsed here once; the Host seam serves them to whoever needs a name, a home or a group."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: Optional[int] = None
    home: Optional[str] = None


@dataclass(frozen=True)
class Group:
    name: str
    gid: int
    members: tuple[str, ...] = ()


def _rows(text: str) -> list[list[str]]:
    """Lines of at least three fields whose third (the id) is a number; others are not entries."""
    rows = []
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            rows.append(fields)
    return rows


def parse_passwd(text: str) -> list[User]:
    return [User(name=f[0], uid=int(f[2]), gid=int(f[3]) if len(f) > 3 and f[3].isdigit() else None,
                 home=f[5] if len(f) > 5 else None) for f in _rows(text)]


def parse_group(text: str) -> list[Group]:
    return [Group(name=f[0], gid=int(f[2]), members=tuple(m for m in f[3].split(",") if m) if len(f) > 3 else ())
            for f in _rows(text)]
