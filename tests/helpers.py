"""Shared test helpers: the recorded hardened host, and overlays that turn it into other hosts."""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from bench.facts import Facts, facts_from_data

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
REPO = TESTS.parent
DELETE = "__delete__"


def hardened_data() -> dict[str, Any]:
    """A compliant host: every automated check passes on it."""
    return json.loads((FIXTURES / "hardened-host.json").read_text())


def deep_merge(base: Any, overlay: Any) -> Any:
    """Dicts merge key by key (DELETE removes a key); anything else replaces."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            if value == DELETE:
                merged.pop(key, None)
            else:
                merged[key] = deep_merge(base.get(key), value)
        return merged
    return copy.deepcopy(overlay)


def apply_case(data: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    """A facts dict changed as a fixture case says (see tests/check_fixtures/README.md)."""
    data = copy.deepcopy(data)
    if "facts" in case:
        data = deep_merge(data, case["facts"])
    if "argv" in case:
        data["daemon"]["argv"] = list(case["argv"])
    if "daemon_json" in case:
        current = json.loads(data["daemon"]["config_text"]) if data["daemon"].get("config_text") else {}
        data["daemon"]["config_text"] = json.dumps(deep_merge(current, case["daemon_json"]))
    if "daemon_json_text" in case:
        data["daemon"]["config_text"] = case["daemon_json_text"]
    for path, overlay in (case.get("file") or {}).items():
        files = data["files"]["files"]
        files[path] = deep_merge(files.get(path, {"path": path, "exists": True}), overlay)
    if "container" in case:
        spec = case["container"]
        name = spec.get("name", "web")
        matches = [c for c in data["containers"]["items"] if c["name"] == name]
        assert matches, f"no container {name!r} in the base facts"
        for key, value in spec.items():
            if key == "inspect":
                matches[0]["inspect"] = deep_merge(matches[0]["inspect"], value)
            elif key != "name":
                matches[0][key] = value
    return data


def make(root: Path, path: str, text: str = "", mode: int = 0o644) -> Path:
    """A file at a host path inside a directory tree that stands in for a host root."""
    full = root / path.lstrip("/")
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text)
    os.chmod(full, mode)
    return full


def facts_of(data: dict[str, Any]) -> Facts:
    return facts_from_data(data)
