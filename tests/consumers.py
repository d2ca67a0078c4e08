"""The real consumers the report formats are checked with, as ./run-tests installs them:

* Microsoft's SARIF Multitool (npm @microsoft/sarif-multitool, into .tools/ of this repository);
* promtool (from Debian's prometheus package, unpacked into .tools/; on PATH, that one);
* the OCSF schema exports of PyPI's ocsf-json-schema (a test extra), made into a JSON Schema;
* Chromium and ChromeDriver (Debian's chromium, chromium-driver), driven through selenium;
* tmux (Debian's tmux), a real terminal of a chosen size;
* Python's own HTML parser, for what a page holds (Page), and the parsers of the other formats
  (check_tool_formats: each format of a run parsed, and no control character left in it).

A test that needs one that is missing skips with the reason, and fails instead where
BENCH_REQUIRE_INTEGRATION=1 (./run-tests as root, so CI) says it must be there. What the tests
produce for people to look at (screen captures, a screenshot, sample reports) goes to
tests/artifacts/, which git ignores.
"""
from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable

from helpers import REPO
from integration.integration_env import unavailable

ARTIFACTS = REPO / "tests" / "artifacts"
TOOLS = REPO / ".tools"
OCSF_VERSION = "1.8.0"


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def multitool() -> str:
    """The multitool's own executable (a self-contained .NET program). Its npm wrapper runs it
    through a shell that would split the ';' of --rule-kind "Gh;Sarif", so it is called directly."""
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    path = TOOLS / "node_modules" / "@microsoft" / f"sarif-multitool-{system}" / "Sarif.Multitool"
    if not path.exists():
        unavailable(f"the SARIF Multitool is not installed at {path.relative_to(REPO)} (./run-tests installs it "
                    "with npm)")
    return str(path)


def sarif_validate(path: Path) -> dict[str, Any]:
    """`Sarif.Multitool validate --rule-kind "Gh;Sarif"` on a file; its own SARIF log of what it found."""
    log = path.with_suffix(".validation.sarif")
    log.unlink(missing_ok=True)
    # .NET needs ICU for culture data unless told to run without it; nothing here is locale-bound.
    env = dict(os.environ, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1", DOTNET_CLI_TELEMETRY_OPTOUT="1")
    result = subprocess.run([multitool(), "validate", "--rule-kind", "Gh;Sarif", "--output", str(log), str(path)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and log.exists(), result.stdout + result.stderr
    found = json.loads(log.read_text(encoding="utf-8-sig"))
    found["console"] = result.stdout
    return found


def sarif_errors(validation: dict[str, Any]) -> list[str]:
    """The validator's findings of level error (a rule's default level counts where a result has none)."""
    run = validation["runs"][0]
    defaults = {r["id"]: (r.get("defaultConfiguration") or {}).get("level", "warning")
                for r in run["tool"]["driver"].get("rules", [])}
    return [f"{r['ruleId']}: {r['message'].get('text') or r['message'].get('arguments')}"
            for r in run.get("results", []) if r.get("level", defaults.get(r["ruleId"], "warning")) == "error"]


def promtool() -> str:
    unpacked = TOOLS / "prometheus" / "usr" / "bin" / "promtool"
    found = shutil.which("promtool") or (str(unpacked) if unpacked.exists() else None)
    if not found:
        unavailable("promtool is not installed (./run-tests unpacks it from Debian's prometheus package into .tools/)")
    return found


def promtool_check(text: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)


@functools.lru_cache(maxsize=None)
def ocsf_schema(version: str = OCSF_VERSION) -> dict[str, Any]:
    """JSON Schema (2020-12) of an OCSF Compliance Finding, generated offline from the schema export
    that ocsf-json-schema ships for that OCSF version, every referenced object embedded."""
    try:
        from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema
    except ImportError:
        unavailable("the Python package ocsf-json-schema is not installed (a test extra; Python 3.10 or newer)")
    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))
    return schema.get_class_schema(schema.lookup_class_name_from_uid(2003), profiles=[])


def tmux() -> str:
    found = shutil.which("tmux")
    if not found:
        unavailable("tmux is not installed (./run-tests installs Debian's tmux)")
    return found


def chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        unavailable("Chromium and ChromeDriver are not installed (./run-tests installs Debian's chromium and "
                    "chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        unavailable("the Python package selenium is not installed (a test extra)")
    if platform.system() != "Linux":
        unavailable("the browser tests are set up for Debian's Chromium on Linux")
    return browser, driver


# Elements the templates write; anything else in a page was injected.
OUR_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "span", "p", "div",
            "ul", "li", "b", "table", "caption", "tr", "th", "td", "svg", "rect", "form", "fieldset", "legend",
            "label", "input", "select", "option", "main", "section", "article", "code", "details", "summary",
            "script"}


class Page(HTMLParser):
    """A page's elements with their attributes, and the text of its scripts."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)

    def all(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def check_tool_formats(run: Callable[[list[str]], tuple[int, str]], args: list[str]) -> dict[str, str]:
    """The formats other tools read, from one audit: `run` takes the CLI's arguments and returns its
    exit status and stderr (in-process or a live CLI). Each format parses, and no control or bidi
    character escapes into Prometheus or HTML."""
    import tempfile

    from prometheus_client.parser import text_string_to_metric_families

    from helpers import UNSAFE_IN_TEXT

    with tempfile.TemporaryDirectory() as folder:
        paths = {fmt: os.path.join(folder, f"report.{fmt}") for fmt in ("sarif", "ocsf", "prometheus", "html")}
        code, err = run([*args, *[a for fmt, path in paths.items() for a in ("-o", f"{fmt}:{path}")]])
        assert code in (0, 1), err
        outputs = {fmt: open(path, encoding="utf-8").read() for fmt, path in paths.items()}
    assert json.loads(outputs["sarif"])["runs"][0]["tool"]["driver"]["rules"]
    assert all(json.loads(line)["class_uid"] == 2003 for line in outputs["ocsf"].splitlines())
    assert list(text_string_to_metric_families(outputs["prometheus"]))
    assert {tag for tag, _ in Page(outputs["html"]).tags} <= OUR_TAGS
    for fmt in ("prometheus", "html"):
        assert not UNSAFE_IN_TEXT.search(outputs[fmt].replace("\n", "")), fmt
    return outputs
