"""Reports of every recorded fixture host, to prove that a restructuring changed no verdict.

Each host is the recorded hardened host (tests/fixtures/hardened-host.json) or one of the hosts the
check fixtures make from it (tests/check_fixtures/*.yaml). Each is audited through the command line
(`audit --facts`) in JSON, text and JUnit, with the clock taken out, and the reports are written to
one file per format. Run it before and after a change and compare the files:

    python tests/report_snapshot.py OUTDIR          # OUTDIR/{json,text,junit}.txt and a digest each
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import yaml  # noqa: E402

from helpers import apply_case, hardened_data  # noqa: E402

TIMES = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
# Fields added to reports since the snapshot format was fixed; they are left out of the comparison.
ADDED_JSON_FIELDS: tuple[str, ...] = ("checks",)


def hosts() -> list[tuple[str, dict]]:
    found = [("hardened", hardened_data())]
    for path in sorted((HERE / "check_fixtures").glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        for kind in ("pass", "fail"):
            for index, case in enumerate(data.get(kind) or []):
                found.append((f"{path.stem}/{kind}/{index}", apply_case(hardened_data(), case)))
    return found


def audit(facts_path: str, fmt: str, extra: list[str]) -> str:
    from bench.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main(["audit", "--facts", facts_path, "--format", fmt, "--color", "never", *extra])
    return out.getvalue()


def normalise(fmt: str, text: str) -> str:
    if fmt == "json":
        data = json.loads(text)
        for key in ("started_at", "finished_at", *ADDED_JSON_FIELDS):
            data.pop(key, None)
        return json.dumps(data, indent=1, sort_keys=True)
    return TIMES.sub("<time>", text)


def main(outdir: str) -> None:
    out = Path(outdir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    collected: dict[str, list[str]] = {"json": [], "text": [], "junit": []}
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        facts_path = "facts.json"   # relative: the reports name it, and must not name a temporary folder
        for name, data in hosts():
            Path(facts_path).write_text(json.dumps(data))
            for fmt in collected:
                collected[fmt].append(f"### {name}\n{normalise(fmt, audit(facts_path, fmt, []))}")
        os.chdir(here)
    for fmt, parts in collected.items():
        text = "\n".join(parts)
        (out / f"{fmt}.txt").write_text(text)
        print(f"{fmt}: {len(parts)} hosts, sha256 {hashlib.sha256(text.encode()).hexdigest()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "report-snapshot")
