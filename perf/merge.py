#!/usr/bin/env python3
"""How long `docker-cis-bench merge` takes over a fleet's reports.

Makes --hosts JSON reports (default 1,000) from a real one: the recorded hardened host
(tests/fixtures/hardened-host.json) audited with `audit --facts`, then copied once per host with a
new hostname, start time and statuses varied at random (seeded): per host a "weakness" from 0 to
40 % turns that share of its PASS/FAIL results into FAIL (WARN when not scored), 1 % of results
become ERROR, and per-resource items follow their recommendation. A share of the hosts
(--unreachable, default 1 %) are unreachable-host markers instead. Then it times the whole
`python -m bench merge` process (text and --format json, output to /dev/null): median of --runs
after one warm-up run, with its CPU time and peak RSS from os.wait4(). The load average before
and after is printed: on a shared machine wall time moves with it, CPU time much less.

    .venv/bin/python perf/merge.py                        # 1,000 hosts, 7 runs
    .venv/bin/python perf/merge.py --hosts 100,1000,5000 --runs 7

Needs no Docker and no root. Everything it writes goes to a temporary directory, removed at exit.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FACTS = REPO / "tests" / "fixtures" / "hardened-host.json"
TARGET_SECONDS = 2.0
TARGET_HOSTS = 1000


def env_for(pycache: Path) -> dict[str, str]:
    env = dict(os.environ)
    # An installed auditor runs from bytecode: keep it in a cache of our own, as perf/containers.py does.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def base_report(directory: Path, env: dict[str, str]) -> dict[str, Any]:
    out = directory / "base.json"
    done = subprocess.run([sys.executable, "-m", "bench", "audit", "--facts", str(FACTS), "--format", "json",
                           "--output", str(out)], cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"the base report could not be made: {done.stderr[-500:]}")
    return json.loads(out.read_text())


def vary(report: dict[str, Any], host: str, rng: random.Random) -> dict[str, Any]:
    copy = json.loads(json.dumps(report))
    copy["host"]["hostname"] = host
    copy["started_at"] = f"2026-11-30T03:15:{rng.randrange(60):02d}+00:00"
    weak = rng.random() * 0.4   # some hosts are kept far worse than others
    summary = {s: 0 for s in ("PASS", "FAIL", "WARN", "INFO", "SKIP", "ERROR")}
    for result in copy["results"]:
        roll = rng.random()
        if result["status"] in ("PASS", "FAIL") and roll < weak:
            status = "FAIL" if result.get("scored") else "WARN"
        elif roll > 0.99:
            status = "ERROR"
        else:
            status = result["status"]
        result["status"] = status
        for item in result.get("items") or []:
            item["status"] = status if status in ("FAIL", "WARN", "ERROR") else item["status"]
        summary[status] += 1
    copy["summary"] = summary
    judged = [r for r in copy["results"] if r.get("scored") and r["status"] in ("PASS", "FAIL", "ERROR")]
    copy["score"] = {"passed": sum(r["status"] == "PASS" for r in judged), "judged": len(judged)}
    return copy


def make_fleet(directory: Path, hosts: int, unreachable: float, seed: int, env: dict[str, str]) -> list[str]:
    rng = random.Random(seed)
    report = base_report(directory, env)
    paths = []
    for n in range(hosts):
        name = f"docker{n + 1:04d}.example.net"
        path = directory / f"{name}.json"
        if rng.random() < unreachable:
            data: dict[str, Any] = {"schema_version": 1, "unreachable": {
                "hostname": name, "reason": f"Failed to connect to the host via ssh: ssh: connect to host {name} "
                                            "port 22: Connection timed out", "at": "2026-11-30T03:15:00+00:00"}}
        else:
            data = vary(report, name, rng)
        path.write_text(json.dumps(data, indent=1))
        paths.append(str(path))
    return paths


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one process."""
    with open(os.devnull, "wb") as devnull, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=devnull, stderr=err, stdin=subprocess.DEVNULL, cwd=REPO, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"merge failed: {err.read().decode(errors='replace')[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def machine() -> list[str]:
    from machine import cpu_model

    model = cpu_model()
    memory = ""
    try:
        kib = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")).split()[1])
        memory = f", {kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return [f"CPU: {model}, {os.cpu_count()} cores{memory}", f"kernel {platform.release()}",
            f"Python {platform.python_version()}"]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", default=str(TARGET_HOSTS), help="comma-separated fleet sizes (default 1000)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--unreachable", type=float, default=0.01, help="share of hosts that are markers")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    print("\n".join(machine()))
    print(f"load average before: {load()}")
    print(f"{'hosts':>6}  {'MB':>6}  {'format':>6}  {'median s':>8}  {'min s':>6}  {'max s':>6}  {'CPU s':>6}  "
          f"{'RSS MB':>6}  target <= {TARGET_SECONDS} s at {TARGET_HOSTS}")
    met = True
    for size in (int(s) for s in args.hosts.split(",") if s):
        with tempfile.TemporaryDirectory(prefix="dcb-merge-perf-") as tmp:
            env = env_for(Path(tmp) / "pycache")
            paths = make_fleet(Path(tmp), size, args.unreachable, args.seed, env)
            megabytes = sum(os.path.getsize(p) for p in paths) / 1e6
            for fmt in ("text", "json"):
                argv = [sys.executable, "-m", "bench", "merge", "--format", fmt, *paths]
                timed(argv, env)   # warm-up: the page cache, the bytecode cache
                runs = [timed(argv, env) for _ in range(args.runs)]
                walls = [w for w, _, _ in runs]
                median = statistics.median(walls)
                verdict = ""
                if size == TARGET_HOSTS:
                    verdict = "met" if median <= TARGET_SECONDS else "MISSED"
                    met = met and median <= TARGET_SECONDS
                print(f"{size:>6}  {megabytes:>6.1f}  {fmt:>6}  {median:>8.3f}  {min(walls):>6.3f}  {max(walls):>6.3f}  "
                      f"{statistics.median(c for _, c, _ in runs):>6.3f}  {max(r for _, _, r in runs):>6.0f}  {verdict}")
    print(f"load average after: {load()}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
