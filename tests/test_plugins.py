"""Third-party packages add Python checks through the `docker_cis_bench.checks` entry-point group."""
import sys
import textwrap

import pytest

from bench.cli import main
from bench.catalog import load_checks
from bench.yaml_checks import CheckFileError
from helpers import HARDENED_FACTS


@pytest.fixture
def plugin_on_path(tmp_path, monkeypatch):
    def install(module_source: str, entry: str = "sitechecks"):
        (tmp_path / "sitechecks.py").write_text(textwrap.dedent(module_source))
        dist = tmp_path / "sitechecks-1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sitechecks\nVersion: 1.0\n")
        (dist / "entry_points.txt").write_text(f"[docker_cis_bench.checks]\nsite = {entry}\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        sys.modules.pop("sitechecks", None)
    yield install
    sys.modules.pop("sitechecks", None)


PLUGIN = """
from bench.check import container_check, passed, failed

@container_check("site-container-label", title="Containers carry an owner label")
def owner_label(container, facts):
    labels = container.get("Config.Labels", {}) or {}
    return passed("owner label set") if "owner" in labels else failed("no owner label")
"""


def test_an_installed_plugin_adds_its_checks(plugin_on_path):
    plugin_on_path(PLUGIN)
    checks = load_checks()
    assert "site-container-label" in checks
    assert checks["site-container-label"].target == "container"
    assert "site-container-label" not in checks.builtin_ids


def test_plugin_checks_run_in_the_audit(plugin_on_path, capsys):
    plugin_on_path(PLUGIN)
    code = main(["--facts", str(HARDENED_FACTS), "--check", "site-container-label", "-q"])
    out = capsys.readouterr().out
    assert code == 1 and "1 FAIL" in out


def test_a_broken_plugin_is_a_configuration_error(plugin_on_path, capsys):
    plugin_on_path("raise ImportError('missing dependency')\n")
    with pytest.raises(CheckFileError, match="cannot load: ImportError: missing dependency"):
        load_checks()
    assert main(["--facts", str(HARDENED_FACTS)]) == 2
    assert "entry point site" in capsys.readouterr().err


def test_a_plugin_entry_point_must_name_checks(plugin_on_path):
    plugin_on_path("VALUE = 3\n", entry="sitechecks:VALUE")
    with pytest.raises(CheckFileError, match="must name a module, a Check or a list of Checks"):
        load_checks()
