"""Which paths an audit rule set watches.

Rules come as `auditctl -l` prints them or as rule files hold them:
  -w /usr/bin/dockerd -p rwxa -k docker
  -a always,exit -F path=/usr/bin/dockerd -F perm=x -k docker
  -a always,exit -F dir=/etc/docker -F perm=wa -k docker
A watch on a directory (-w DIR, or -F dir=DIR) covers everything beneath it.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Watch:
    path: str
    recursive: bool  # True for directories (-w on a dir, -F dir=)
    rule: str


def parse_watches(rules: list[str]) -> list[Watch]:
    watches = []
    for rule in rules:
        try:
            words = shlex.split(rule, comments=False)
        except ValueError:
            words = rule.split()
        if _suppresses(words):
            continue
        for i, word in enumerate(words):
            if word == "-w" and i + 1 < len(words):
                watches.append(Watch(words[i + 1].rstrip("/") or "/", True, rule))
            elif word == "-F" and i + 1 < len(words):
                key, eq, value = words[i + 1].partition("=")
                if eq and key == "path":
                    watches.append(Watch(value.rstrip("/") or "/", False, rule))
                elif eq and key == "dir":
                    watches.append(Watch(value.rstrip("/") or "/", True, rule))
    return watches


def _suppresses(words: list[str]) -> bool:
    """`-a never,exit ...` (either order) turns auditing off for what it matches."""
    for i, word in enumerate(words[:-1]):
        if word in ("-a", "-A") and "never" in words[i + 1].split(","):
            return True
    return False


def watching(watches: list[Watch], paths: list[str]) -> list[Watch]:
    """The watches that cover any of the given names of one file (its path, its symlink target)."""
    hits = []
    for watch in watches:
        for path in paths:
            path = path.rstrip("/") or "/"
            if path == watch.path or (watch.recursive and path.startswith(watch.path.rstrip("/") + "/")):
                hits.append(watch)
                break
    return hits
