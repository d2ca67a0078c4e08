"""A daemon.json that went bad after the daemon started (malformed, wrong types, unknown keys), or
that is a symlink, a FIFO or a symlink loop: what depends on it is ERROR naming file and problem,
a symlink is judged through its target, nothing hangs.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from faults.common import CONFIG_IDS, FILE_ONLY_IDS, REPORTED_IDS, Live, cli

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def config_replaced(live: Live, make: Any) -> Iterator[Path]:
    """Replace the daemon's config file (make(path) puts something there); put it back after."""
    path = live.daemon.config_file
    saved = path.read_bytes()
    path.unlink()
    try:
        make(path)
        yield path
    finally:
        if path.is_symlink() or path.exists():
            path.unlink()
        for extra in path.parent.iterdir():
            if extra.name != path.name:
                extra.unlink()
        path.write_bytes(saved)
        os.chmod(path, 0o644)


# -- 2: malformed daemon.json ---------------------------------------------------------------------------------

@pytest.mark.parametrize("content,problem", [
    ('{"icc": false,\n  "log-level": "info"', "invalid JSON"),
    ('{"icc": "no", "log-level": "info"}', "'icc' must be true or false"),
    ('{"ICC": false, "log-level": "info"}', "unknown key 'ICC'"),
    ('{"icc": false, "insecure-registries": "10.0.0.1:5000"}', "list of strings"),
], ids=["invalid-json", "wrong-type", "unknown-key", "wrong-type-list"])
def test_malformed_daemon_json(live: Live, content: str, problem: str) -> None:
    """The running daemon was started with a valid file; the file was then broken (an edit that
    takes effect at the next restart). What only the file says is ERROR naming file and problem;
    what the running daemon reports is judged as it runs, never PASS, with the problem named."""
    with config_replaced(live, lambda path: path.write_text(content)) as path:
        run = cli("--host", live.host, "-f", "json")
    assert run.code == 1 and run.err == "", run.err   # ERROR counts as fail; the daemon was reachable
    results = run.results()
    for rec_id in FILE_ONLY_IDS:
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
        assert results[rec_id]["details"].startswith(f"{path}: ") and problem in results[rec_id]["details"]
    for rec_id in REPORTED_IDS:
        assert results[rec_id]["status"] in ("WARN", "FAIL"), results[rec_id]
        assert "the running daemon" in results[rec_id]["details"] and problem in results[rec_id]["details"]
    # Where it listens is what its process holds: the unix socket alone.
    assert results["2.6"]["status"] == "PASS" and "listens on no TCP socket" in results["2.6"]["details"]
    for rec_id in ("3.9", "3.11", "3.13"):   # where the TLS files are: unknown
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
    # The rest is judged: the file's owner and mode, the engine, the containers.
    assert results["3.17"]["status"] == "PASS" and results["3.18"]["status"] == "PASS"
    assert results["2.5"]["status"] == "PASS" and results["1.1"]["status"] in ("PASS", "FAIL")
    assert {i["resource"] for i in results["5.4"]["items"]} == {"plain", "secret"}
    assert results["5.4"]["status"] == "PASS"


def test_a_key_only_a_newer_dockerd_knows_leaves_the_configuration_judged(live: Live, tmp_path: Path) -> None:
    """Such a file runs a newer dockerd; the auditor reads what it knows and says what it does not.
    This dockerd refuses the key, so no daemon here can have started with it: the live daemon is
    recorded with the file in place, and the recording dated the file before the daemon's start (a
    file's change time cannot be set back on a live host, by design)."""
    def newer(path: Path) -> None:
        path.write_text('{"icc": false, "log-level": "info", "some-future-option": {"enabled": true}}')

    facts = tmp_path / "facts.json"
    with config_replaced(live, newer):
        recorded = cli("record", "--host", live.host, "-o", str(facts))
    assert recorded.code == 0, recorded.err
    data = json.loads(facts.read_text())
    assert "some-future-option" in data["daemon"]["config_text"]
    data["daemon"]["config_mtime"] = data["daemon"]["started_at"] - 60
    facts.write_text(json.dumps(data))
    run = cli("--facts", str(facts), "-f", "json")
    results = run.results()
    assert results["2.1"]["status"] == "PASS" and results["2.2"]["status"] == "PASS", (results["2.1"], run.err)
    for rec_id in CONFIG_IDS:
        assert results[rec_id]["status"] != "ERROR", results[rec_id]


# -- 9: symlinks, a FIFO and a loop where daemon.json should be -------------------------------------------------

def test_a_symlinked_daemon_json_is_read_and_judged_through_its_target(live: Live) -> None:
    target = live.daemon.config_file.parent / "real.json"

    def link(path: Path) -> None:
        target.write_text('{"icc": false, "log-level": "info"}')
        os.chmod(target, 0o600)
        path.symlink_to(target)

    with config_replaced(live, link) as path:
        run = cli("--host", live.host, "-f", "json", "--check", "2.1,3.17,3.18")
        os.chmod(target, 0o666)
        loose = cli("--host", live.host, "-f", "json", "--check", "3.18")
    results = run.results()
    assert results["2.1"]["status"] == "PASS" and f"daemon.json {path}" in results["2.1"]["details"]
    # The benchmark means the file the daemon reads: the target's 0600, not the link's own 0777.
    assert results["3.18"]["status"] == "PASS" and "mode 0600" in results["3.18"]["details"]
    for rec_id in ("3.17", "3.18"):
        assert f"symlink to {target}; its target {target} was judged" in results[rec_id]["details"], results[rec_id]
    loose_result = loose.results()["3.18"]
    assert loose_result["status"] == "FAIL" and "mode 0666" in loose_result["details"]


@pytest.mark.parametrize("kind", ["fifo", "loop"])
def test_a_fifo_or_a_symlink_loop_at_daemon_json_neither_hangs_nor_crashes(live: Live, kind: str) -> None:
    def make(path: Path) -> None:
        if kind == "fifo":
            os.mkfifo(path, 0o644)
        else:
            other = path.parent / "loop"
            other.symlink_to(path.name)
            path.symlink_to(other.name)

    with config_replaced(live, make):
        run = cli("--host", live.host, "-f", "json", "--check", "2,3.17,3.18", timeout=60)
    assert run.seconds < 20 and run.code == 1 and run.err == ""
    results = run.results()
    reason = "not a regular file" if kind == "fifo" else "symbolic links"
    for rec_id in FILE_ONLY_IDS:
        assert results[rec_id]["status"] == "ERROR" and reason in results[rec_id]["details"], results[rec_id]
    for rec_id in REPORTED_IDS:
        assert results[rec_id]["status"] in ("WARN", "FAIL") and reason in results[rec_id]["details"], results[rec_id]
    if kind == "fifo":   # stat'ed, never opened: judged by its owner and mode
        assert results["3.18"]["status"] == "PASS"
    else:
        assert results["3.18"]["status"] == "ERROR" and "symlink loop" in results["3.18"]["details"]
