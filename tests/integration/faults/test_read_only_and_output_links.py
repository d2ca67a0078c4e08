"""The audit is read-only, live: under strace it writes nothing but its report (a temporary file
renamed over --output) and asks the daemon GET requests only; an --output at a planted link is
replaced, never written through.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from faults.common import Live, cli
from integration_env import unavailable

pytestmark = pytest.mark.integration


# -- 8: read-only --------------------------------------------------------------------------------------------------------

# Every system call that can create, write, rename, remove, or change the mode, owner, times or
# attributes of a file; plus sends on sockets, to see what is asked of the daemon.
TRACED = ("open,openat,openat2,creat,mkdir,mkdirat,mknod,mknodat,rename,renameat,renameat2,unlink,unlinkat,rmdir,"
          "link,linkat,symlink,symlinkat,chmod,fchmod,fchmodat,chown,fchown,lchown,fchownat,utime,utimes,utimensat,"
          "futimesat,truncate,ftruncate,fallocate,setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,"
          "fremovexattr,write,pwrite64,writev,pwritev,pwritev2,sendfile,copy_file_range,sendto,sendmsg")
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
PATH_CALLS = {"mkdir", "mkdirat", "mknod", "mknodat", "unlink", "unlinkat", "rmdir", "chmod", "fchmodat",
              "chown", "lchown", "fchownat", "utime", "utimes", "utimensat", "futimesat", "truncate", "setxattr",
              "lsetxattr", "removexattr", "lremovexattr", "rename", "renameat", "renameat2", "link", "linkat",
              "symlink", "symlinkat"}
FD_CALLS = {"write", "pwrite64", "writev", "pwritev", "pwritev2", "fchmod", "fchown", "ftruncate", "fallocate",
            "fsetxattr", "fremovexattr", "sendfile", "copy_file_range"}
HARMLESS_FDS = re.compile(r"^(pipe:|socket:|UNIX|NETLINK|TCP|UDP|anon_inode:|/dev/null$|/dev/pts/|/dev/tty)")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_FD = re.compile(r"^(?:\d+|AT_FDCWD)<(.*?)>(?:,|\)|$)")


def _unescape(text: str) -> str:
    """strace's C-style string escapes back to the path's bytes, decoded as Python does."""
    raw = re.sub(rb"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)",
                 lambda m: (bytes([int(m.group(1)[1:], 16)]) if m.group(1)[:1] == b"x" else
                            bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit() else
                            {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"v": b"\v", b"f": b"\f"}.get(m.group(1), m.group(1))),
                 text.encode("latin-1", "backslashreplace"))
    return os.fsdecode(raw)


def strace_calls(log: Path) -> list[tuple[int, str, str]]:
    """(pid, syscall, arguments and result) per call, with unfinished/resumed halves joined."""
    pending: dict[int, str] = {}
    calls = []
    for line in log.read_text(encoding="latin-1").splitlines():
        pid_text, _, rest = line.partition(" ")
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        rest = rest.strip()
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")]
            continue
        resumed = re.match(r"<\.\.\. (\w+) resumed>(.*)", rest)
        if resumed:
            rest = pending.pop(pid, resumed.group(1) + "(") + resumed.group(2)
        match = re.match(r"(\w+)\((.*)$", rest)
        if match:
            calls.append((pid, match.group(1), match.group(2)))
    return calls


def _fd_path(args: str) -> str:
    match = _FD.match(args)
    return _unescape(match.group(1)) if match else ""


def _paths(call: str, args: str) -> list[str]:
    """The paths a path-taking call names, made absolute with its directory fd where relative."""
    out = []
    dirfd = _fd_path(args) if call.endswith("at") or call in ("renameat2", "openat2") else ""
    for raw in _STRING.findall(args):
        path = _unescape(raw)
        if not path.startswith("/") and dirfd:
            path = os.path.join(dirfd, path)
        out.append(path)
    return out


def snapshot(paths: list[str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for path in paths:
        try:
            st = os.lstat(path)
        except OSError as exc:
            seen[path] = f"absent ({exc.strerror})"
            continue
        entry: dict[str, Any] = {"mode": st.st_mode, "uid": st.st_uid, "gid": st.st_gid}
        if stat.S_ISREG(st.st_mode):
            entry["mtime"] = st.st_mtime_ns
            entry["sha256"] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        elif stat.S_ISDIR(st.st_mode):
            entry["names"] = sorted(os.listdir(path))
        elif stat.S_ISLNK(st.st_mode):
            entry["target"] = os.readlink(path)
        seen[path] = entry
    return seen


def test_an_audit_changes_nothing_on_the_host_and_writes_only_its_report(live: Live, tmp_path: Path) -> None:
    if not shutil.which("strace"):
        unavailable("strace is not installed")
    facts_file = tmp_path / "facts.json"
    recorded = cli("record", "--host", live.host, "--all", "-o", str(facts_file))
    assert recorded.code == 0, recorded.err
    facts = json.loads(facts_file.read_text())
    work, out_dir = tmp_path / "cwd", tmp_path / "out"
    work.mkdir()
    out_dir.mkdir()
    output = out_dir / "report.json"
    watched = sorted(p for p in set(facts["files"]["files"]) | {
        facts["daemon"]["config_file"], facts["daemon"]["exe"], str(work), str(out_dir), str(live.daemon.dir),
        str(live.daemon.config_file.parent), str(live.daemon.data_root)} if p)
    before = snapshot(watched)
    log = tmp_path / "strace.log"
    # clean_env() sets PYTHONDONTWRITEBYTECODE=1: the interpreter would otherwise cache compiled
    # modules (.pyc) next to the sources it imports, which is Python's doing, not the audit's.
    run = cli("--host", live.host, "--all", "-f", "json", "-o", str(output), cwd=work,
              prefix=("strace", "-f", "-qq", "-yy", "-s", "48", "-o", str(log), "-e", f"trace={TRACED}"))
    assert run.code in (0, 1), run.err
    assert json.loads(output.read_text())["summary"]

    temp_name = re.compile(re.escape(str(out_dir)) + r"/\.report\.json\.[^/]+\.tmp$")
    problems, temps, renames, requests = [], set(), [], []
    for pid, call, args in strace_calls(log):
        if call in ("open", "openat", "openat2", "creat"):
            flags = args
            if call == "creat" or any(flag in flags for flag in WRITE_FLAGS):
                path = _paths(call, args)[0]
                if path == "/dev/null" or path.startswith(("/dev/pts/", "/dev/tty")):
                    continue
                if temp_name.match(path) and "O_CREAT" in flags and "O_EXCL" in flags:
                    temps.add(path)   # a new file or nothing: never one planted there
                    continue
                problems.append(f"{call} {path} for writing ({pid}: {args[:200]})")
        elif call in PATH_CALLS:
            paths = _paths(call, args)
            if call.startswith("rename") and len(paths) == 2 and paths[0] in temps and paths[1] == str(output):
                renames.append(paths)
                continue
            if call in ("fchmodat", "chmod") and paths and paths[0] in temps:
                continue
            problems.append(f"{call} {paths} ({pid}: {args[:200]})")
        elif call in FD_CALLS:
            path = _fd_path(args)
            if HARMLESS_FDS.match(path) or path in temps:
                continue
            if path in (str(work), ""):
                problems.append(f"{call} on fd {args[:80]!r}")
                continue
            problems.append(f"{call} {path} ({pid}: {args[:200]})")
        elif call in ("sendto", "sendmsg") and "UNIX-STREAM" in args.split(",", 1)[0]:
            data = _STRING.search(args)   # what the auditor sends the daemon (the only stream peer)
            requests.append(data.group(1) if data else args[:80])
    assert problems == [], "\n".join(problems[:40])
    assert len(temps) == 1 and renames == [[next(iter(temps)), str(output)]], (temps, renames)
    # What was asked of the daemon: GET requests only.
    assert requests and all(r.startswith("GET /") for r in requests), requests[:20]

    after = snapshot(watched)
    changed = {p: (before[p], after[p]) for p in watched if before[p] != after[p] and p != str(out_dir)}
    assert changed == {}, changed
    assert after[str(out_dir)]["names"] == ["report.json"] and after[str(work)]["names"] == []



# -- 12: output paths --------------------------------------------------------------------------------------------------

def test_output_replaces_planted_links_and_never_writes_through_them(live: Live, tmp_path: Path) -> None:
    """As root: a symlink to a file that matters, a hard link to it, a dangling symlink pointing
    where a file would be created. Each is replaced by the report; nothing is written through."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    before = victim.stat()
    out = tmp_path / "out"
    out.mkdir()
    (out / "sym.json").symlink_to(victim)
    os.link(victim, out / "hard.json")
    (out / "dangling.json").symlink_to(tmp_path / "created-through-link")
    for name in ("sym.json", "hard.json", "dangling.json"):
        run = cli("--host", live.host, "-f", "json", "--check", "2.1", "-o", str(out / name))
        assert run.code == 0, run.err
        written = out / name
        assert not written.is_symlink() and written.stat().st_ino != before.st_ino
        assert json.loads(written.read_text())["results"][0]["id"] == "2.1"
    assert victim.read_text() == "precious\n" and victim.stat().st_mtime_ns == before.st_mtime_ns
    assert victim.stat().st_nlink == 1
    assert not (tmp_path / "created-through-link").exists()
    assert sorted(p.name for p in out.iterdir()) == ["dangling.json", "hard.json", "sym.json"]
