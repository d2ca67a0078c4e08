"""`pip install .` (not editable) into a fresh venv, run from another directory, finds the shipped
checks and profiles inside the wheel."""
import json
import os
import subprocess
import sys
import venv

import pytest

from helpers import HARDENED_FACTS, REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("pkg")
    wheels = base / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
                           capture_output=True, text=True, cwd=base)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("docker_cis_bench-*.whl")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    install = subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q",
                              "--disable-pip-version-check", str(wheel)], capture_output=True, text=True, cwd=base)
    assert install.returncode == 0, install.stderr
    return env_dir, wheel


def test_wheel_carries_checks_and_profiles(installed):
    import zipfile

    _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "bench/_data/profiles/cis-docker-1.11.0.yaml" in names
    assert "bench/_data/checks/containers.yaml" in names and "bench/_data/checks/containers.py" in names
    assert "bench/reporters/report-schema.json" in names
    for template in ("base.html.j2", "report.html.j2", "fleet.html.j2", "macros.html.j2", "report.css", "report.js"):
        assert f"bench/reporters/templates/{template}" in names


def test_installed_tool_runs_from_elsewhere(installed, tmp_path):
    env_dir, _ = installed
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    listing = subprocess.run([str(env_dir / "bin" / "docker-cis-bench"), "list", "--format", "json"],
                             capture_output=True, text=True, cwd=tmp_path, env=clean_env)
    assert listing.returncode == 0, listing.stderr
    assert len(json.loads(listing.stdout)["recommendations"]) == 83
    audit = subprocess.run([str(env_dir / "bin" / "python"), "-m", "bench", "--facts",
                            str(HARDENED_FACTS), "--format", "json"],
                           capture_output=True, text=True, cwd=tmp_path, env=clean_env)
    assert audit.returncode == 0, audit.stderr
    assert json.loads(audit.stdout)["summary"]["FAIL"] == 0
    html = subprocess.run([str(env_dir / "bin" / "docker-cis-bench"), "--facts", str(HARDENED_FACTS), "-f", "html"],
                          capture_output=True, text=True, cwd=tmp_path, env=clean_env)
    assert html.returncode == 0, html.stderr
    assert "<article class=\"rec\"" in html.stdout   # templates found in the wheel, Jinja2 installed with it
    checks = subprocess.run([str(env_dir / "bin" / "docker-cis-bench"), "list", "--checks"],
                            capture_output=True, text=True, cwd=tmp_path, env=clean_env)
    assert "checks/containers.py" in checks.stdout
