"""The README's recipes as the tests run them: the code block between `<!-- recipe:NAME -->` and
`<!-- /recipe:NAME -->` in README.md, run as written in a copy of the repository. A docs page
may show a recipe again between the same markers; it must then be the README's, character for
character (test_recipes_text.py), so what a reader copies from either place is what was tested.

Tests adapt a recipe only through the variables it documents (DOCKER_SOCKET, REPORTS, BASE, cron's
PATH and REPORTS lines, DOCKER_HOST), never by editing its text."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
# What a copy of the repository leaves out: local state, never part of a clone.
NOT_COPIED = (".git", ".venv", ".cache", "dist", "build", ".pytest_cache", ".hypothesis", "__pycache__", "*.egg-info",
              "fleet", "inventory.ini", "debian-python3.tar")
MARKED = re.compile(r"<!-- recipe:([a-z-]+) -->\n(.*?)<!-- /recipe:\1 -->", re.S)
BLOCK = re.compile(r"^```[a-z]*\n(.*?)^```[ \t]*$", re.S | re.M)


def recipes(text: str) -> dict[str, str]:
    """Name -> the body of the one code block between the recipe's markers, in a Markdown text."""
    found: dict[str, str] = {}
    for name, marked in MARKED.findall(text):
        blocks = BLOCK.findall(marked)
        assert len(blocks) == 1, f"recipe {name!r} holds {len(blocks)} code blocks, not one"
        assert name not in found, f"recipe {name!r} is marked twice"
        found[name] = blocks[0]
    return found


def recipe(name: str) -> str:
    """The README's recipe NAME."""
    shown = recipes(README.read_text())
    assert name in shown, f"README.md has no recipe {name!r}"
    return shown[name]


def copy_repository(target: Path) -> Path:
    """The repository as a clone has it (no venv, no caches, no build output)."""
    shutil.copytree(REPO, target, ignore=shutil.ignore_patterns(*NOT_COPIED), symlinks=True)
    return target


def environ(**extra: str) -> dict[str, str]:
    """This environment with `python3` (and pip) being the test suite's interpreter, and no
    Docker client settings but those given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")])
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def run_sh(script: str, cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    """A recipe through /bin/sh -e, as a user pastes it into a shell that stops at the first failure."""
    return subprocess.run(["/bin/sh", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def statuses_of_text(report: str) -> dict[str, str]:
    """ID -> status from a text report's recommendation rows."""
    return dict(re.findall(r"^(\d+\.\d+)\s+(PASS|FAIL|WARN|INFO|SKIP|ERROR)\b", report, re.M))
