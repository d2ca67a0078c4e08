"""Where the shipped check definitions and profiles live.

An installed wheel carries them as bench/_data/{checks,profiles}; a source checkout keeps them at
the top of the repository, next to the package.
"""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def builtin_checks_dir() -> Path:
    return data_dir("checks")


def profiles_dir() -> Path:
    return data_dir("profiles")
