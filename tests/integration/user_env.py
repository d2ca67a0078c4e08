"""Throwaway users for the integration tests that run the auditor as someone other than root (a
rootless daemon's user, an ssh client), and a Python interpreter they can run it with.

The interpreter running the tests may live where another user cannot reach it (a venv whose
python links into /root), so the auditor runs as the user with an interpreter of the same version
that the user can execute, the repository and this interpreter's site-packages on PYTHONPATH; when
the user cannot read those either, with copies of them in a scratch directory it can read.

Every user made here is removed again (its processes, home, group, /etc/subuid and /etc/subgid
lines) by a callback registered before the user exists.
"""
from __future__ import annotations

import contextlib
import os
import pwd
import grp
import shutil
import site
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from dockerd import Unavailable
from helpers import REPO
from integration_env import run

USER_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass
class User:
    name: str
    uid: int
    gid: int
    home: Path
    python: list[str] = field(default_factory=list)        # argv prefix that runs Python as this user
    python_env: dict[str, str] = field(default_factory=dict)

    def environ(self, **extra: str) -> dict[str, str]:
        """A login-like environment for the user, with the auditor importable."""
        env = {"HOME": str(self.home), "USER": self.name, "LOGNAME": self.name, "PATH": USER_PATH,
               "LANG": "C.UTF-8", "NO_COLOR": "1", **self.python_env}
        env.update(extra)
        return env


def as_user_argv(user: User, argv: list[str]) -> list[str]:
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise Unavailable("setpriv (util-linux) is not installed")
    return [setpriv, f"--reuid={user.uid}", f"--regid={user.gid}", "--init-groups", *argv]


def run_as(user: User, argv: list[str], env: dict[str, str], timeout: float = 180,
           **kwargs: Any) -> subprocess.CompletedProcess:
    kwargs.setdefault("cwd", str(user.home))
    return subprocess.run(as_user_argv(user, argv), env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kwargs)


def bench_as(user: User, *args: str, env: Optional[dict[str, str]] = None,
             timeout: float = 180) -> subprocess.CompletedProcess:
    """`python -m bench ARGS` as the user."""
    return run_as(user, [*user.python, "-m", "bench", *args], env if env is not None else user.environ(),
                  timeout=timeout)


def add_user(stack: contextlib.ExitStack, prefix: str, home: Optional[Path] = None) -> User:
    for tool in ("useradd", "userdel", "setpriv"):
        if not shutil.which(tool):
            raise Unavailable(f"{tool} is not installed")
    name = f"{prefix}{uuid.uuid4().hex[:6]}"
    stack.callback(remove_user, name)   # also when useradd fails half-way
    argv = ["useradd", "--create-home", "--shell", "/bin/sh", "--user-group"]
    if home is not None:
        argv += ["--home-dir", str(home)]
    made = run(argv + [name], check=False)
    if made.returncode != 0:
        raise Unavailable(f"useradd {name} failed: {made.stderr.strip()[:200]}")
    entry = pwd.getpwnam(name)
    return User(name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))


def remove_user(name: str) -> None:
    """The user, everything it still runs, its home, group and subordinate id ranges."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = None
    if entry is not None:
        kill_processes_of(entry.pw_uid)
        run(["userdel", "--remove", name], check=False)
        home = Path(entry.pw_dir)
        if home.name and name in str(home):
            shutil.rmtree(home, ignore_errors=True)
    for path in ("/etc/subuid", "/etc/subgid"):
        with contextlib.suppress(OSError):
            lines = Path(path).read_text().splitlines(keepends=True)
            kept = [line for line in lines if not line.startswith(f"{name}:")]
            if kept != lines:
                Path(path).write_text("".join(kept))
    with contextlib.suppress(KeyError):
        grp.getgrnam(name)
        run(["groupdel", name], check=False)


def kill_processes_of(uid: int) -> None:
    import psutil

    for proc in psutil.process_iter(["uids"]):
        uids = proc.info.get("uids")
        if uids and uids.real == uid:
            with contextlib.suppress(psutil.Error):
                proc.kill()


def setup_python(user: User, scratch: Path) -> None:
    """Find how this user can run the auditor with the test suite's packages; raise Unavailable
    when it cannot."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    interpreters = []
    for candidate in (sys.executable, os.path.realpath(sys.executable), shutil.which(f"python{version}"),
                      f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        if candidate and os.path.exists(candidate) and candidate not in interpreters:
            interpreters.append(candidate)
    packages = [p for p in site.getsitepackages() if os.path.isdir(p)]
    layouts = [[str(REPO), *packages]]
    problems: list[str] = []
    for attempt in range(2):
        if attempt == 1:
            layouts = [_copy_for(user, scratch, packages)]
        for paths in layouts:
            for interpreter in interpreters:
                env = {"PYTHONPATH": os.pathsep.join(paths), "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
                probe = run_as(user, [interpreter, "-c", f"import sys; assert sys.version_info[:2] == {sys.version_info[:2]}; "
                                      "import bench.cli, bench.collect.engine, yaml, psutil, docker; print(bench.__file__)"],
                               {**user.environ(), **env}, timeout=60)
                if probe.returncode == 0 and probe.stdout.strip().startswith(paths[0]):
                    user.python, user.python_env = [interpreter], env
                    return
                problems.append(f"{interpreter}: {(probe.stderr.strip().splitlines() or ['?'])[-1][:120]}")
    raise Unavailable(f"no Python {version} that {user.name} can run the auditor with: " + "; ".join(problems[-3:]))


def _copy_for(user: User, scratch: Path, packages: list[str]) -> list[str]:
    """Copies of the repository's package and data and of the site-packages, readable by anyone."""
    root = scratch / "python"
    source = root / "src"
    for name in ("bench", "checks", "profiles"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    copies = []
    for n, path in enumerate(packages):
        target = root / f"site{n}"
        shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__", "bench"), symlinks=True,
                        dirs_exist_ok=True)
        copies.append(str(target))
    for directory in [scratch, root, *root.rglob("*")]:
        with contextlib.suppress(OSError):
            mode = directory.stat().st_mode
            directory.chmod(mode | (0o555 if directory.is_dir() else 0o444))
    return [str(source), *copies]


def read_state(user: User, path: str) -> str:
    """What the user meets opening path: 'read', 'missing' or 'denied' (as the auditor would)."""
    script = ("import sys\n"
              "try:\n"
              "    open(sys.argv[1], 'rb').close(); print('read')\n"
              "except IsADirectoryError: print('read')\n"
              "except FileNotFoundError: print('missing')\n"
              "except PermissionError: print('denied')\n"
              "except OSError as e: print('denied')\n")
    result = run_as(user, [*user.python, "-c", script, path], user.environ(), timeout=60)
    return result.stdout.strip() or "denied"
