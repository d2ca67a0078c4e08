"""The catalog of checks: the shipped ones, a user's folders, and installed plugins.

- The shipped checks/ folder holds YAML files and Python modules (ours).
- A folder given with --checks-dir holds YAML only. The audit never runs code from a check folder:
  a .py file there is refused, not imported.
- Installed packages add Python checks through the entry-point group `docker_cis_bench.checks`;
  an entry point names a module (its Check objects are taken) or a list of Checks.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Optional

from bench.check import Check
from bench.paths import builtin_checks_dir
from bench.yaml_checks import CheckFileError, load_check_file

ENTRY_POINT_GROUP = "docker_cis_bench.checks"
YAML_SUFFIXES = (".yaml", ".yml")


class CheckSet:
    """Checks by id, refusing two checks with one id."""

    def __init__(self) -> None:
        self.checks: dict[str, Check] = {}
        self.origins: dict[str, str] = {}
        self.builtin_ids: set[str] = set()

    def add(self, check: Check, origin: str) -> None:
        if check.id in self.checks:
            raise CheckFileError(origin, f"duplicate check id; already defined at {self.checks[check.id].source}",
                                 check=check.id, field="id")
        self.checks[check.id] = check
        self.origins[check.id] = origin

    def __contains__(self, check_id: str) -> bool:
        return check_id in self.checks

    def __getitem__(self, check_id: str) -> Check:
        return self.checks[check_id]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.checks.values())

    def __len__(self) -> int:
        return len(self.checks)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CheckFileError(str(path), "not UTF-8 text") from None
    except OSError as exc:
        raise CheckFileError(str(path), f"cannot read: {exc.strerror or exc}") from None


def _display(path: Path) -> str:
    text = str(path)
    marker = "/bench/_data/"
    return text.split(marker, 1)[1] if marker in text else text


def load_yaml_dir(folder: Path, into: CheckSet, *, allow_python: bool) -> None:
    if not folder.is_dir():
        raise CheckFileError(str(folder), "not a directory")
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name == "__pycache__":
            continue
        if path.suffix in YAML_SUFFIXES:
            for check in load_check_file(_read(path), _display(path)):
                into.add(check, _display(path))
        elif path.suffix == ".py":
            if not allow_python:
                raise CheckFileError(str(path), "a checks folder holds YAML only; the audit does not run code "
                                     f"from it. Ship Python checks as a package with the entry point group "
                                     f"{ENTRY_POINT_GROUP!r}")
            for check in checks_in_module(_import_file(path)):
                into.add(check, _display(path))


def _import_file(path: Path) -> ModuleType:
    name = f"bench_builtin_checks.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


def checks_in_module(module: Any) -> list[Check]:
    return [value for value in vars(module).values() if isinstance(value, Check)]


def _entry_points() -> Iterable[Any]:
    from importlib.metadata import entry_points

    found = entry_points()
    if hasattr(found, "select"):
        return found.select(group=ENTRY_POINT_GROUP)
    return found.get(ENTRY_POINT_GROUP, [])  # Python 3.9


def load_plugins(into: CheckSet) -> None:
    for entry_point in _entry_points():
        origin = f"entry point {entry_point.name} ({entry_point.value})"
        try:
            loaded = entry_point.load()
        except Exception as exc:
            raise CheckFileError(origin, f"cannot load: {type(exc).__name__}: {exc}") from None
        if isinstance(loaded, ModuleType):
            found = checks_in_module(loaded)
        elif isinstance(loaded, Check):
            found = [loaded]
        elif isinstance(loaded, (list, tuple)) and all(isinstance(c, Check) for c in loaded):
            found = list(loaded)
        else:
            raise CheckFileError(origin, "must name a module, a Check or a list of Checks")
        for check in found:
            into.add(check, origin)


def load_checks(user_dirs: Iterable[Path] = (), *, builtin: Optional[Path] = None,
                plugins: bool = True) -> CheckSet:
    checks = CheckSet()
    load_yaml_dir(builtin or builtin_checks_dir(), checks, allow_python=True)
    checks.builtin_ids = set(checks.checks)
    for folder in user_dirs:
        load_yaml_dir(Path(folder), checks, allow_python=False)
    if plugins:
        load_plugins(checks)
    return checks
