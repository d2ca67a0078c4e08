#!/usr/bin/env python3
"""How long a full audit takes next to what the Engine API itself costs, as containers grow.

Starts a throwaway dockerd (tests/dockerd.py: its own socket, data-root, exec-root and pidfile;
nothing else on the host is touched), makes a local busybox image, and for each size:

- starts that many running containers (or, for --all-sizes, creates that many and starts none);
- times the raw Engine API work: docker SDK APIClient, list the containers and inspect each one,
  one after the other (median of --runs);
- times the full CIS audit as a separate process, `python -m bench --host ... --format json`, with
  its output to /dev/null (median of --runs, after one warm-up run that is not counted), and takes
  its peak RSS from os.wait4();
- prints one table: raw, audit, their ratio, the cost per container, and the targets.

    sudo /tmp/venv/bin/python perf/containers.py                   # 0, 10, 100 running; 1000 --all
    sudo /tmp/venv/bin/python perf/containers.py --sizes 0,10 --all-sizes '' --runs 3   # quick

With --images N, N distinct images are made before the --all-sizes rows (commits of an application
image that BuildKit builds, or the classic builder with --image-builder classic) and the containers
are created from them in turn; with --every-check the audit maps every check of the catalog (a
superset of every shipped edition's), and raw also inspects each image and reads its history. The
issue 11 targets (a v1.8.0 audit):

    sudo /tmp/venv/bin/python perf/containers.py --sizes 0 --all-sizes 1000 --images 500 --every-check --runs 7 --workers-scan ''

With --versus TREE (another source tree of the auditor, e.g. `git worktree add /tmp/before HEAD~1`),
every size also times the audit run from that tree, the two alternating run by run (A B B A A B ...),
so that a load that comes and goes on a shared machine falls on both alike; the ratio of the two is
also given round by round, for wall and CPU time.

Needs root and Debian's docker.io (dockerd) and busybox-static. Uses the stdlib, the docker SDK
and psutil only. Everything it starts is removed on exit, also on failure or Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from dockerd import Dockerd, Unavailable, docker_cli  # noqa: E402  (tests/dockerd.py)

IMAGE = "bench-busybox:1"
PREFIX = "cisbm-"
# Containers are made by a few SDK threads at once: enough to keep dockerd busy on a small host
# without starting hundreds of runc processes at the same moment.
SETUP_THREADS = 8


# -- setup -------------------------------------------------------------------------------------

class Clients:
    """One APIClient per thread (a requests session is not documented as thread-safe)."""

    def __init__(self, host: str, version: str):
        self.host, self.version = host, version
        self.local = threading.local()

    def get(self) -> Any:
        import docker

        client = getattr(self.local, "client", None)
        if client is None:
            client = self.local.client = docker.APIClient(base_url=self.host, version=self.version, timeout=120)
        return client


def parallel(fn: Callable[[Any], Any], items: list[Any], threads: int = SETUP_THREADS) -> list[Any]:
    if not items:
        return []
    pool = ThreadPoolExecutor(max_workers=min(threads, len(items)))
    try:
        return list(pool.map(fn, items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C, start nothing new


def make_containers(clients: Clients, names: list[str], start: bool, images: Optional[list[str]] = None) -> list[str]:
    """Containers named `names`, made from `images` in turn (the busybox image without)."""
    pool = images or [IMAGE]
    index_of = {name: n for n, name in enumerate(names)}

    def make(name: str) -> str:
        client = clients.get()
        host_config = client.create_host_config(network_mode="none")
        created = client.create_container(pool[index_of[name] % len(pool)], command=["sleep", "2000000"], name=name,
                                          host_config=host_config, labels={"cisbm": "1"})
        if start:
            client.start(created["Id"])
        return created["Id"]

    return parallel(make, names)


def remove_containers(clients: Clients, ids: list[str]) -> None:
    parallel(lambda cid: clients.get().remove_container(cid, force=True), ids)


# An application image as they come: a base, packages, files, a user, a health check; its history
# has the length of a real one (no network: the RUN lines run busybox). BuildKit builds it, as
# Docker 23+ does by default: its images have no local parent images, as pulled ones do not. The
# classic builder (--image-builder classic) leaves a chain of parent images, one per instruction,
# and dockerd then reads each parent's config from disk to answer a history request.
APP_DOCKERFILE = f"""FROM {IMAGE}
ARG VERSION=1.0
LABEL org.opencontainers.image.title=app org.opencontainers.image.version=1.0
ENV APP_HOME=/srv/app APP_PORT=8080 PATH=/srv/app/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /srv/app/bin /srv/app/data && echo "app $VERSION" > /srv/app/VERSION
COPY app.txt /srv/app/app.txt
RUN cat /srv/app/app.txt > /srv/app/data/seed && ls -l /srv/app > /dev/null
WORKDIR /srv/app
EXPOSE 8080
USER app
HEALTHCHECK --interval=30s --timeout=3s CMD ["cat", "/srv/app/VERSION"]
CMD ["sleep", "2000000"]
"""
APP_IMAGE = "perf-app:1"
VARIANTS = "perf-variant"     # not PREFIX: the report's container count must not count images


def make_images(daemon: Dockerd, clients: Clients, count: int, builder: str = "buildkit") -> list[str]:
    """`count` distinct images: `docker commit`s of a container made from the application image,
    each with a label of its own (a new image id; the application's history plus one line)."""
    with tempfile.TemporaryDirectory(prefix="cisbm-build-") as context:
        Path(context, "Dockerfile").write_text(APP_DOCKERFILE)
        Path(context, "app.txt").write_text("the application\n")
        env = daemon.env()
        env["DOCKER_BUILDKIT"] = "1" if builder == "buildkit" else "0"
        built = subprocess.run([docker_cli(), "build", "-q", "-t", APP_IMAGE, context], env=env, capture_output=True,
                               text=True, check=False, timeout=600)
        if built.returncode != 0:
            raise RuntimeError(f"docker build {APP_IMAGE} failed: {built.stderr.strip()[-1000:]}")
    source = clients.get().create_container(APP_IMAGE, command=["true"], name=f"{PREFIX}image-source")["Id"]
    try:
        def commit(n: int) -> str:
            clients.get().commit(source, repository=VARIANTS, tag=str(n), changes=[f"LABEL perf.variant={n}"])
            return f"{VARIANTS}:{n}"

        return parallel(commit, list(range(count)))
    finally:
        clients.get().remove_container(source, force=True)


def catalog_profile(path: Path) -> Path:
    """A profile that maps every check of the catalog: a superset of every shipped edition's checks."""
    sys.path.insert(0, str(REPO))
    from bench.catalog import load_checks

    ids = sorted(c.id for c in load_checks(plugins=False))
    lines = ["id: perf-all-checks", "title: every check of the catalog", "labels: assessment",
             'sections: {"1": All checks}', "recommendations:"]
    for n, check_id in enumerate(ids, start=1):
        lines += [f'  - id: "1.{n}"', f"    title: {check_id}", "    assessment: automated", "    level: 1",
                  f"    checks: [{check_id}]"]
    path.write_text("\n".join(lines) + "\n")
    return path


# -- measurement -----------------------------------------------------------------------------------

@dataclass
class Row:
    containers: int
    all_containers: bool
    images: int = 0                 # distinct images made for the row (besides busybox)
    raw: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)   # user + system time of the audit process
    seen: Optional[int] = None      # containers the audit reported on (from the warm-up run)
    stderr: str = ""
    tree: str = ""                  # with --versus: which source tree's audit

    @property
    def raw_median(self) -> float:
        return statistics.median(self.raw)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def rss_mb(self) -> float:
        return max(self.rss_kb) / 1024


def time_raw(client: Any, all_containers: bool, images: bool = False) -> float:
    """The Engine API's own cost: list, then inspect each container (and with `images`, list the
    images, inspect each and read its history), one request after the other."""
    started = time.perf_counter()
    for summary in client.containers(all=all_containers, trunc=False):
        client.inspect_container(summary["Id"])
    if images:
        for image in client.images():
            client.inspect_image(image["Id"])
            client.history(image["Id"])
    return time.perf_counter() - started


def audit_env(host: str, pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_HOST"] = host
    # An installed auditor runs from bytecode (pip compiles on install). Some sandboxes set
    # PYTHONDONTWRITEBYTECODE, which would recompile every module on every run; keep the bytecode
    # in a cache of our own instead, so the repository and the venv are left as they are.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def run_audit(argv: list[str], env: dict[str, str], stdout_path: Optional[str] = None,
              tree: Path = REPO) -> tuple[float, int, float, str]:
    """Wall time, peak RSS (KiB), CPU time and stderr of one audit process, run from the source
    tree `tree`. CPU time moves less than wall time when other work shares the machine."""
    with tempfile.TemporaryFile() as err, open(stdout_path or os.devnull, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=str(tree))
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if proc.returncode not in (0, 1):  # 1: findings, the normal outcome on a test daemon
        raise RuntimeError(f"audit exited with {proc.returncode}: {stderr.strip()[-2000:]}")
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, stderr


def scan_workers(host: str, all_containers: bool, runs: int, counts: list[int]) -> list[tuple[int, float, float]]:
    """The auditor's own container collection (list + one inspect each, redacted) in this process,
    with 1, 2, 4 ... inspect requests in flight: (workers, median wall, median CPU of this process)."""
    sys.path.insert(0, str(REPO))
    from bench.collect.engine import collect_containers, collect_engine
    from bench.engine_api.session import EngineOptions, EngineSession

    out = []
    for workers in counts:
        walls, cpus = [], []
        for _ in range(runs):
            session = EngineSession(EngineOptions(base_url=host, all_containers=all_containers, workers=workers))
            collect_engine(session)
            started, cpu = time.perf_counter(), time.process_time()
            collect_containers(session)
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
            session.close()
        out.append((workers, statistics.median(walls), statistics.median(cpus)))
    return out


def containers_in_report(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    names = {item["resource"] for result in report.get("results", []) for item in result.get("items", [])
             if str(item.get("resource", "")).startswith(PREFIX)}
    return len(names)


def measure(rows: list[Row], trees: list[Path], host: str, client: Any, runs: int, env: dict[str, str],
            workdir: Path, profile: Optional[Path] = None) -> list[Row]:
    """Time one size: the raw API work, then the audit from each tree (one row each), alternating."""
    raw = [time_raw(client, rows[0].all_containers, images=profile is not None) for _ in range(runs)]
    argv = [sys.executable, "-m", "bench", "--host", host, "--format", "json"]
    if profile is not None:
        argv += ["--profile", str(profile)]
    if rows[0].all_containers:
        argv.append("--all")
    report = str(workdir / "report.json")
    for row, tree in zip(rows, trees):
        row.raw = raw
        row.stderr = run_audit(argv, env, report, tree)[-1]  # warm-up: bytecode, page cache; not counted
        row.seen = containers_in_report(report)
    pairs = list(zip(rows, trees))
    for run in range(runs):
        for row, tree in pairs if run % 2 == 0 else pairs[::-1]:
            wall, rss, cpu, _ = run_audit(argv, env, tree=tree)
            row.wall.append(wall)
            row.rss_kb.append(rss)
            row.cpu.append(cpu)
    return rows


def check_tree(tree: Path, env: dict[str, str]) -> None:
    """That `python -m bench` run from `tree` imports the auditor from there (not an installed one)."""
    probe = subprocess.run([sys.executable, "-c", "import bench; print(bench.__file__)"], cwd=str(tree), env=env,
                           capture_output=True, text=True, check=False)
    where = probe.stdout.strip()
    if not where.startswith(str(tree.resolve()) + os.sep):
        raise SystemExit(f"--versus {tree}: the auditor run from there is {where or probe.stderr.strip()!r}")


# -- report ------------------------------------------------------------------------------------

def target_of(row: Row, every_check: bool = False) -> tuple[str, Optional[bool]]:
    """The issues' targets. With every check (issue 11, the v1.8.0 audit): an empty host <= 0.3 s;
    1,000 created containers and 500 images <= 1.5 s and <= 150 MB. Otherwise (issue 2, CIS 1.11.0):
    no containers <= 0.6 s; 100 running <= 2 x raw + 0.5 s; 1,000 created with --all <= 3 s and
    <= 200 MB. Other sizes have none (the table still shows their growth)."""
    if every_check:
        if row.containers == 0 and row.images == 0:
            return "<= 0.3 s", row.wall_median <= 0.3
        if row.all_containers and row.containers == 1000 and row.images == 500:
            return "<= 1.5 s and <= 150 MB", row.wall_median <= 1.5 and row.rss_mb <= 150
        return "", None
    if row.all_containers:
        if row.containers == 1000:
            return "<= 3 s and <= 200 MB", row.wall_median <= 3.0 and row.rss_mb <= 200
        return "", None
    if row.containers == 0:
        return "<= 0.6 s", row.wall_median <= 0.6
    if row.containers == 100:
        bound = 2 * row.raw_median + 0.5
        return f"<= 2 x raw + 0.5 s = {bound:.2f} s", row.wall_median <= bound
    return "", None


def table(rows: list[Row], runs: int, every_check: bool = False) -> str:
    header = ["containers", "raw list+inspect", f"audit wall (median of {runs})", "audit min-max", "audit CPU",
              "peak RSS", "audit / raw", "ms per container", "target", "met"]
    trees = any(row.tree for row in rows)
    if trees:
        header.insert(1, "tree")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        label = f"{row.containers:,} {'created, --all' if row.all_containers else 'running'}"
        if row.images:
            label += f", {row.images:,} images"
        base = next((r.wall_median for r in rows if r.containers == 0 and r.tree == row.tree), None)
        per = (f"{(row.wall_median - base) / row.containers * 1000:.2f}" if base is not None and row.containers
               else "-")
        target, ok = target_of(row, every_check)
        lines.append("| " + " | ".join([
            label,
            *([row.tree] if trees else []),
            f"{row.raw_median:.3f} s",
            f"{row.wall_median:.3f} s",
            f"{min(row.wall):.3f}-{max(row.wall):.3f} s",
            f"{row.cpu_median:.3f} s",
            f"{row.rss_mb:.0f} MB",
            f"{row.wall_median / row.raw_median:.1f}" if row.raw_median > 0 else "-",
            per,
            target or "-",
            {True: "yes", False: "NO", None: "-"}[ok],
        ]) + " |")
    return "\n".join(lines)


def paired(first: Row, other: Row) -> str:
    """The two trees' audits compared round by round (each round ran both, one after the other),
    which cancels load that changes more slowly than a round."""
    def ratios(a: list[float], b: list[float]) -> str:
        values = sorted(y / x for x, y in zip(a, b) if x > 0)
        return f"median {statistics.median(values):.3f} (range {values[0]:.3f}-{values[-1]:.3f})" if values else "-"

    label = f"{first.containers:,} {'created, --all' if first.all_containers else 'running'}"
    return (f"{label}: {other.tree} / {first.tree}, round by round: wall {ratios(first.wall, other.wall)}, "
            f"CPU {ratios(first.cpu, other.cpu)}")


def fit(rows: list[Row]) -> Optional[str]:
    """Least squares: wall = a + b * containers, and how well a line explains the medians."""
    if len(rows) < 3:
        return None
    xs, ys = [float(r.containers) for r in rows], [r.wall_median for r in rows]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    intercept = my - slope * mx
    total = sum((y - my) ** 2 for y in ys)
    residual = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys))
    r2 = 1 - residual / total if total else 1.0
    return f"audit wall ~= {intercept:.3f} s + {slope * 1000:.2f} ms x containers (R^2 = {r2:.3f})"


def machine(client: Any) -> list[str]:
    import docker
    import psutil

    from machine import cpu_model

    model = cpu_model()
    distro = ""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                distro = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    version = client.version()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"CPU: {model}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable)",
        f"RAM: {psutil.virtual_memory().total / 2**30:.1f} GiB",
        f"OS: {distro}, kernel {platform.release()}",
        f"Docker: dockerd {version.get('Version')} (API {version.get('ApiVersion')}), "
        f"storage driver {client.info().get('Driver')}",
        f"Python {platform.python_version()}, docker SDK {docker.__version__}, psutil {psutil.__version__}",
        f"Load average at start: {load}",
    ]


def sizes(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("sizes are >= 0")
    return values


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=sizes, default=[0, 10, 50, 100],
                        help="numbers of running containers (default: 0,10,50,100)")
    parser.add_argument("--all-sizes", type=sizes, default=[250, 500, 1000],
                        help="numbers of created-only containers, audited with --all (default: 250,500,1000; "
                             "'' for none)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per size, after one warm-up (default: 5)")
    parser.add_argument("--versus", type=Path, metavar="TREE",
                        help="also time the audit run from this other source tree of the auditor, alternating "
                             "with this one")
    parser.add_argument("--images", type=int, default=0, metavar="N",
                        help="before the --all-sizes rows, make N distinct images (an application image and "
                             "N-1 commits of it) and create the containers from them in turn (default: 0)")
    parser.add_argument("--image-builder", choices=("buildkit", "classic"), default="buildkit",
                        help="what builds the application image the --images are committed from (default: "
                             "buildkit; classic leaves a chain of local parent images)")
    parser.add_argument("--every-check", action="store_true",
                        help="audit with a profile mapping every check of the catalog (a superset of every "
                             "shipped edition), instead of the default profile; raw then also inspects each "
                             "image and reads its history")
    parser.add_argument("--profile", metavar="ID",
                        help="audit with this shipped edition (e.g. cis-docker-1.8.0) instead of the default; "
                             "a later edition is held to issue 11's targets, and raw then inspects each image "
                             "and reads its history as that edition's checks do")
    parser.add_argument("--workers-scan", default="1,2,4,8", metavar="N,N,...",
                        help="at the largest size, also time the auditor's container collection alone with "
                             "this many inspect requests in flight (default: 1,2,4,8; '' to skip)")
    args = parser.parse_args(argv)
    if args.every_check and args.profile:
        parser.error("--every-check and --profile exclude each other")
    # The targets of issue 11 hold for an audit by a current edition as for every check.
    issue11 = args.every_check or bool(args.profile and args.profile != "cis-docker-1.11.0")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.images < 0:
        parser.error("--images must be at least 0")
    try:
        worker_counts = [int(v) for v in args.workers_scan.split(",") if v.strip()]
    except ValueError:
        parser.error("--workers-scan takes numbers, e.g. 1,2,4,8")
    scan: list[tuple[int, float, float]] = []
    scan_label = ""

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    started = time.monotonic()
    daemon = Dockerd(name="cisbm")
    rows: list[Row] = []
    try:
        import docker

        print(f"starting a throwaway dockerd in {daemon.dir} ...", file=sys.stderr, flush=True)
        daemon.start()
        daemon.import_busybox(IMAGE)
        probe = docker.APIClient(base_url=daemon.host, version="auto", timeout=120)
        clients = Clients(daemon.host, probe.api_version)
        about = machine(probe)
        env = audit_env(daemon.host, daemon.dir / "pycache")
        trees = [REPO] + ([args.versus.resolve()] if args.versus else [])
        for tree in trees:
            check_tree(tree, env)

        profile = catalog_profile(daemon.dir / "every-check.yaml") if args.every_check else args.profile
        images: list[str] = []

        def rows_of(n: int, all_containers: bool) -> list[Row]:
            named = len(trees) > 1
            return [Row(n, all_containers, images=len(images), tree=str(tree) if named else "") for tree in trees]
        ids: list[str] = []
        for n in args.sizes:
            if n > len(ids):
                print(f"starting {n - len(ids)} containers ({n} running) ...", file=sys.stderr, flush=True)
                ids += make_containers(clients, [f"{PREFIX}r{i}" for i in range(len(ids), n)], start=True)
            elif n < len(ids):
                remove_containers(clients, ids[n:])
                ids = ids[:n]
            print(f"measuring {n} running containers ...", file=sys.stderr, flush=True)
            rows += measure(rows_of(n, False), trees, daemon.host, probe, args.runs, env, daemon.dir, profile)
        if args.all_sizes:
            remove_containers(clients, ids)
            ids = []
        if args.all_sizes and args.images:
            print(f"making {args.images} distinct images ...", file=sys.stderr, flush=True)
            images = make_images(daemon, clients, args.images, args.image_builder)
        for n in args.all_sizes:
            if n > len(ids):
                print(f"creating {n - len(ids)} containers ({n} created, none running) ...", file=sys.stderr,
                      flush=True)
                ids += make_containers(clients, [f"{PREFIX}c{i}" for i in range(len(ids), n)], start=False,
                                       images=images)
            elif n < len(ids):
                remove_containers(clients, ids[n:])
                ids = ids[:n]
            print(f"measuring {n} created containers with --all ...", file=sys.stderr, flush=True)
            rows += measure(rows_of(n, True), trees, daemon.host, probe, args.runs, env, daemon.dir, profile)
        if worker_counts and rows and rows[-1].containers:
            last = rows[-1]
            print("timing the container collection with 1, 2, 4 ... requests in flight ...", file=sys.stderr,
                  flush=True)
            scan = scan_workers(daemon.host, last.all_containers, args.runs, worker_counts)
            scan_label = f"{last.containers:,} {'created, --all' if last.all_containers else 'running'}"
    except Unavailable as exc:
        print(f"cannot run the benchmark here: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        print("removing the containers and stopping the throwaway dockerd ...", file=sys.stderr, flush=True)
        daemon.stop()

    command = shlex.join(["python", "perf/containers.py"] + (sys.argv[1:] if argv is None else argv))
    print(f"# docker-cis-bench: audit time against Engine API time\n\n`{command}`\n")
    print("\n".join(f"- {line}" for line in about))
    print()
    print(table(rows, args.runs, issue11))
    print()
    print("raw: docker SDK APIClient, list + inspect of each container"
          f"{' (and of each image, with its history)' if issue11 else ''}, sequential, median of "
          f"{args.runs}. audit: `python -m bench --host ... --format json [--all]"
          f"{' --profile EVERY-CHECK' if args.every_check else (' --profile ' + args.profile if args.profile else '')}` > /dev/null as a "
          "separate process, wall clock, median; audit CPU: its user + system time, median; peak RSS is the "
          "largest ru_maxrss of its runs.")
    for first, other in zip(rows, rows[1:]):
        if first.tree and other.tree != first.tree and (other.containers, other.all_containers) == (
                first.containers, first.all_containers):
            print(paired(first, other))
    for tree in dict.fromkeys(row.tree for row in rows):
        for label, group in (("running", [r for r in rows if not r.all_containers and r.tree == tree]),
                             ("created, --all", [r for r in rows if r.all_containers and r.tree == tree])):
            line = fit(group)
            if line:
                print(f"linear fit, {label}{f' ({tree})' if tree else ''}: {line}")
    for row in rows:
        if row.seen is not None and row.seen != row.containers:
            print(f"WARNING: with {row.containers} containers the report named {row.seen} of them")
        noise = [line for line in row.stderr.splitlines() if line.strip()]
        if noise:
            print(f"note: the audit of {row.containers} containers wrote to stderr: {noise[0][:200]}")
    if scan:
        print(f"\nThe auditor's container collection alone (list + inspect + redact, in-process), {scan_label} "
              f"containers, median of {args.runs}:\n")
        print("| inspect requests in flight | wall | auditor CPU |\n|---|---|---|")
        for workers, wall, cpu in scan:
            print(f"| {workers} | {wall:.3f} s | {cpu:.3f} s |")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n(benchmark ran for {time.monotonic() - started:.0f} s; load average at the end: {load})")
    failed = [r for r in rows if target_of(r, issue11)[1] is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
