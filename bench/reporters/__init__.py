"""Reporters turn a Report into text. They do no I/O: the CLI writes what they return."""
from __future__ import annotations

from typing import Callable

from bench.results import Report

FORMATS = ("text", "json", "junit")


def renderer(name: str) -> Callable[..., str]:
    if name == "text":
        from bench.reporters.text import render_text

        return render_text
    if name == "json":
        from bench.reporters.json_report import render_json

        return render_json
    if name == "junit":
        from bench.reporters.junit import render_junit

        return render_junit
    raise ValueError(f"unknown format {name!r}")


__all__ = ["FORMATS", "Report", "renderer"]
