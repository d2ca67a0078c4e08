"""Reporters turn a Report into text. They do no I/O: the CLI writes what they return."""
from __future__ import annotations

import importlib
from typing import Callable

from bench.results import Report

# format -> (module, function); imported when asked for, so a text report never loads Jinja2.
_RENDERERS = {
    "text": ("bench.reporters.text", "render_text"),
    "json": ("bench.reporters.json_report", "render_json"),
    "junit": ("bench.reporters.junit", "render_junit"),
    "sarif": ("bench.reporters.sarif", "render_sarif"),
    "ocsf": ("bench.reporters.ocsf", "render_ocsf"),
    "prometheus": ("bench.reporters.prometheus", "render_prometheus"),
    "html": ("bench.reporters.html", "render_html"),
}
FORMATS = tuple(_RENDERERS)
# The formats a merged fleet report (`merge`) can be written in.
FLEET_FORMATS = ("text", "json", "html", "prometheus")


def renderer(name: str) -> Callable[..., str]:
    try:
        module, function = _RENDERERS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}") from None
    return getattr(importlib.import_module(module), function)


__all__ = ["FLEET_FORMATS", "FORMATS", "Report", "renderer"]
