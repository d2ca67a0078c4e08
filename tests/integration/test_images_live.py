"""Image config and history made real: on a throwaway dockerd, images are built from an imported
busybox with the classic builder and with BuildKit (dockerd's own, DOCKER_BUILDKIT=1), containers
are created from them, and the real CLI audits them with the image checks (CIS v1.6.0+ 4.6-4.12,
5.28), through a profile file that maps them (tests/helpers.py write_check_profile).

Nothing here needs a network: the RUN lines whose text matters run harmless programs (an `apt-get`
that is a two-line script copied into the image), as the history records the text, not what ran.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any, Iterator

import pytest

from dockerd import Dockerd, busybox_path, docker_cli
from helpers import run_bench, write_check_profile
from integration_env import start_daemon, unavailable

pytestmark = pytest.mark.integration

BASE = "bench-busybox:1"
TOOLS = "bench-tools:1"
CHECKS = ["image-healthcheck", "image-no-update-alone", "image-setuid-setgid", "image-copy-not-add",
          "image-no-secrets-in-history", "image-verified-packages", "manual-signed-artifacts", "manual-latest-images"]
KITS = {"classic": "0", "buildkit": "1"}
TOKEN_VALUE = "tok-live-8c1f0e"         # must never reach a report or a facts file
PASSWORD_VALUE = "pw-live-71d2aa"

# Dockerfiles, FROM bench-tools:1 (busybox with its applets linked), built with both builders.
DOCKERFILES = {
    "clean": """FROM {tools}
COPY hello.txt /app/hello.txt
COPY apt-get /usr/bin/apt-get
RUN apt-get update && apt-get install -y --no-install-recommends tool
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {{}} + || true
USER app
HEALTHCHECK --interval=30s CMD true
""",
    "bare": """FROM {tools}
CMD ["sleep", "1000"]
""",
    "add": """FROM {tools}
ADD hello.txt /app/
ADD app.tar /opt/
""",
    "update": """FROM {tools}
COPY apt-get /usr/bin/apt-get
RUN apt-get update
RUN apt-get install -y tool
""",
    "setuid": """FROM {tools}
RUN chmod u+s /bin/busybox
""",
    "unverified": """FROM {tools}
COPY apt-get /usr/bin/apt-get
RUN apt-get update && apt-get install -y --allow-unauthenticated tool
""",
    "secret": """FROM {tools}
ARG DB_PASSWORD
ENV SECRET_TOKEN={token}
RUN echo building > /dev/null
""",
    "scratch": """FROM scratch
ADD rootfs.tar /
CMD ["sh"]
""",
}
BUILD_ARGS = {"secret": ["--build-arg", f"DB_PASSWORD={PASSWORD_VALUE}"]}


def tag(name: str, kit: str) -> str:
    return f"t-{name}-{kit}:1"


def _context(root: Path) -> Path:
    root.mkdir()
    (root / "hello.txt").write_text("hello\n")
    script = root / "apt-get"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    with tarfile.open(root / "app.tar", "w") as archive:
        archive.add(root / "hello.txt", arcname="hello.txt")
    # A root file system for FROM scratch + ADD: busybox and its shell.
    tree = root.parent / "rootfs"
    (tree / "bin").mkdir(parents=True)
    shutil.copy2(busybox_path(), tree / "bin" / "busybox")
    os.symlink("busybox", tree / "bin" / "sh")
    with tarfile.open(root / "rootfs.tar", "w") as archive:
        archive.add(tree, arcname=".")
    return root


def _build(daemon: Dockerd, context: Path, name: str, kit: str, dockerfile: str, *args: str) -> str:
    (context / "Dockerfile").write_text(dockerfile)
    env = daemon.env()
    env["DOCKER_BUILDKIT"] = KITS[kit]
    built = subprocess.run([docker_cli(), "build", "-q", *args, "-t", name, str(context)], env=env,
                           capture_output=True, text=True, timeout=300)
    if built.returncode != 0:
        raise RuntimeError(f"docker build {name} ({kit}) failed: {built.stderr.strip()[-2000:]}")
    return built.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def daemon(integration_host: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    with contextlib.ExitStack() as stack:
        daemon = Dockerd(name="img")
        try:
            start_daemon(stack, daemon)
        except Exception as exc:  # DaemonDidNotStart is Unavailable; anything else is as fatal here
            unavailable(str(exc))
        daemon.import_busybox(BASE)
        context = _context(tmp_path_factory.mktemp("images") / "context")
        _build(daemon, context, TOOLS, "classic",
               f"FROM {BASE}\nRUN busybox mkdir -p /usr/bin /sbin && busybox --install -s\n")
        for kit in KITS:
            for name, text in DOCKERFILES.items():
                _build(daemon, context, tag(name, kit), kit, text.format(tools=TOOLS, token=TOKEN_VALUE),
                       *BUILD_ARGS.get(name, []))
        # HEALTHCHECK NONE switches the clean image's health check off.
        _build(daemon, context, "t-hcnone-classic:1", "classic", f"FROM {tag('clean', 'classic')}\nHEALTHCHECK NONE\n")
        for kit in KITS:
            for name in DOCKERFILES:
                daemon.docker("create", "--name", f"c-{name}-{kit}", tag(name, kit), "sleep", "1000")
        # 5.28: a container whose tag moves on to a rebuilt image, and one created by image id.
        _build(daemon, context, "t-moving:1", "classic", f"FROM {TOOLS}\nLABEL build=1\n")
        daemon.docker("create", "--name", "c-moved", "t-moving:1", "sleep", "1000")
        _build(daemon, context, "t-moving:1", "classic", f"FROM {TOOLS}\nLABEL build=2\n")
        bare_id = daemon.docker("image", "inspect", "-f", "{{.Id}}", tag("bare", "classic")).stdout.strip()
        daemon.docker("create", "--name", "c-by-id", bare_id, "sleep", "1000")
        yield daemon


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_check_profile(tmp_path_factory.mktemp("profile") / "images.yaml", CHECKS)


def _cli(*args: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    result = run_bench(list(args), env=environ, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    return result


@pytest.fixture(scope="module")
def report(daemon: Dockerd, profile: Path) -> dict[str, Any]:
    result = _cli("audit", "--host", daemon.host, "--all", "--format", "json", "--profile", str(profile))
    return json.loads(result.stdout)


def _results(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["checks"][0]: r for r in report["results"]}


def _item(report: dict[str, Any], check: str, resource: str) -> tuple[str, str]:
    found = [(i["status"], i["detail"]) for i in _results(report)[check]["items"] if i["resource"] == resource]
    assert len(found) == 1, (check, resource, _results(report)[check]["items"])
    return found[0]


# (image, builder) -> {check: (status, a text its detail holds)}; "" for any detail.
EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    "clean": {"image-healthcheck": ("PASS", "HEALTHCHECK CMD-SHELL"),
              "image-no-update-alone": ("PASS", "no update instruction alone (3 RUN lines)"),
              "image-setuid-setgid": ("PASS", "strips setuid/setgid bits from the whole file system"),
              "image-copy-not-add": ("PASS", "no ADD instruction"),
              "image-no-secrets-in-history": ("PASS", ""),
              "image-verified-packages": ("INFO", "package installs: apt-get install")},
    "bare": {"image-healthcheck": ("FAIL", "no HEALTHCHECK in the image"),
             "image-setuid-setgid": ("INFO", "the history grants no setuid/setgid bit"),
             "image-copy-not-add": ("PASS", "no ADD instruction"),
             "image-verified-packages": ("INFO", "no package install in the history")},
    "update": {"image-no-update-alone": ("FAIL", "apt-get update without an install in the same RUN")},
    "setuid": {"image-setuid-setgid": ("FAIL", "history line 1 sets setuid/setgid bits")},
    "unverified": {"image-verified-packages": ("FAIL", "apt-get --allow-unauthenticated (history line 1)"),
                   "image-no-update-alone": ("PASS", "")},
    "secret": {"image-no-secrets-in-history": ("FAIL", "SECRET_TOKEN (ENV in history line 2, Config.Env)"),
               "image-healthcheck": ("FAIL", "")},
    "scratch": {"image-copy-not-add": ("PASS", "no ADD but the base layer's root file system (history line 2)")},
}


@pytest.mark.parametrize("kit", list(KITS))
@pytest.mark.parametrize("name,check", [(n, c) for n, checks in EXPECTED.items() for c in checks])
def test_each_image_is_judged_from_its_config_and_history(report, name, check, kit):
    status, text = EXPECTED[name][check]
    got = _item(report, check, tag(name, kit))
    assert got[0] == status and text in got[1], got


def test_the_builders_differ_where_the_history_does(report):
    """BuildKit records an ADD's source names; the classic builder a hash, which cannot tell an
    archive to unpack from a plain file."""
    assert _item(report, "image-copy-not-add", tag("add", "buildkit")) == (
        "FAIL", "history line 1: ADD of an archive, which ADD unpacks and COPY would not; "
                "history line 2: ADD of local files or directories, which COPY copies alike")
    status, detail = _item(report, "image-copy-not-add", tag("add", "classic"))
    assert status == "WARN" and detail.count("ADD of a file (the classic builder keeps no name") == 2, detail


@pytest.mark.parametrize("kit", list(KITS))
def test_a_build_arguments_value_is_named_never_shown(report, kit):
    status, detail = _item(report, "image-no-secrets-in-history", tag("secret", kit))
    assert status == "FAIL" and "DB_PASSWORD (build argument in history line 1)" in detail, detail


def test_healthcheck_none_fails(report):
    assert _item(report, "image-healthcheck", "t-hcnone-classic:1") == (
        "FAIL", "HEALTHCHECK NONE: the health check is switched off")


def test_containers_whose_tag_moved_on_or_that_name_an_id(report, daemon):
    current = daemon.docker("image", "inspect", "-f", "{{.Id}}", "t-moving:1").stdout.strip()
    status, detail = _item(report, "manual-latest-images", "c-moved")
    assert status == "INFO" and f"t-moving:1 now names image {current[7:19]}; the container still runs" in detail
    assert _item(report, "manual-latest-images", "c-by-id")[1].startswith("created from image id")
    assert "t-clean-classic:1 still names the image it runs" in _item(report, "manual-latest-images",
                                                                     "c-clean-classic")[1]
    evidence = _results(report)["manual-signed-artifacts"]
    assert evidence["status"] == "INFO" and "Docker Content Trust is being retired" in evidence["details"]


def test_no_secret_value_reaches_the_report_or_the_facts(report, daemon, profile, tmp_path):
    assert TOKEN_VALUE not in json.dumps(report) and PASSWORD_VALUE not in json.dumps(report)
    facts = tmp_path / "facts.json"
    _cli("record", "--host", daemon.host, "--all", "-o", str(facts))
    text = facts.read_text()
    assert TOKEN_VALUE not in text and PASSWORD_VALUE not in text
    assert "SECRET_TOKEN" in text and "DB_PASSWORD=<redacted>" in text
    # The recording judges as the live audit did.
    again = json.loads(_cli("audit", "--facts", str(facts), "--format", "json", "--profile", str(profile)).stdout)
    assert {r["id"]: r["status"] for r in again["results"]} == {r["id"]: r["status"] for r in report["results"]}
