"""Faults and bad input that need no Docker daemon (the live ones are in
tests/integration/faults/): never a false PASS, never a crash, exit 2 with one line for
bad configuration, reports that stay well-formed whatever the host holds, and a report file no
reader ever sees half of."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from busy_host import container_copies
from consumers import check_tool_formats
from helpers import (HARDENED_FACTS, apply_case, assert_inert_text, by_id, hardened_data, junit_schema, report_schema,
                     run_bench, run_main, unix_server, write_facts)

HARDENED = str(HARDENED_FACTS)


def assert_one_line_usage_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("docker-cis-bench: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


# -- 1, 2: what cannot be known is ERROR, never PASS or SKIP ------------------------------------------

def test_unknown_daemon_configuration_makes_the_socket_checks_error_not_skip(tmp_path):
    """With daemon.json unparseable the collector cannot tell where the API socket is; 3.15 used
    to say SKIP ("cannot tell: ...") for that. Not knowing is ERROR."""
    data = apply_case(hardened_data(), {
        "daemon_json_text": '{"icc": false,',
        "facts": {"files": {"locations": {r: "__delete__" for r in ("api-socket", "tls-ca", "tls-cert", "tls-key")},
                            "notes": {"api-socket": "cannot tell: /etc/docker/daemon.json: invalid JSON"}}},
    })
    code, out, _ = run_main(["--facts", write_facts(tmp_path / "f.json", data), "-f", "json", "--check", "2,3"])
    results = by_id(out)
    for rec_id in ("3.15", "3.16"):
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
        assert "cannot tell" in json.dumps(results[rec_id])
    # What the API does not report cannot be known; what it reports is the running daemon's, and
    # the unreadable file keeps it from passing.
    for rec_id in ("2.3", "2.6", "2.7", "2.9"):
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
        assert "/etc/docker/daemon.json" in results[rec_id]["details"]
    for rec_id in ("2.1", "2.4", "2.8", "2.11", "2.12"):
        assert results[rec_id]["status"] in ("WARN", "FAIL"), results[rec_id]
        assert "the running daemon" in results[rec_id]["details"] and "/etc/docker/daemon.json" in results[rec_id]["details"]
    assert code == 1


@pytest.mark.parametrize("case,expected,fragment", [
    # The engine cannot be asked and daemon.json cannot be read: the data root is not guessed.
    ({"facts": {"engine": {"error": "permission denied on the Docker API socket"},
                "daemon": {"config_error": "permission denied"}}}, "ERROR", "data root is unknown"),
    # ... but a --data-root flag still says where it is (dockerd refuses one set both ways).
    ({"facts": {"engine": {"error": "permission denied on the Docker API socket"},
                "daemon": {"config_error": "permission denied"}},
      "argv": ["/usr/bin/dockerd", "-H", "fd://", "--data-root", "/srv/docker"]}, "FAIL", "/srv/docker (flag"),
    # No daemon found and no engine: nothing to go on.
    ({"facts": {"engine": {"error": "the Docker API socket does not exist"},
                "daemon": {"error": "no dockerd process found on this host"}}}, "ERROR", "no dockerd process"),
])
def test_the_data_partition_is_not_judged_on_a_guessed_data_root(tmp_path, case, expected, fragment):
    """1.1 used to judge /var/lib/docker whenever the engine could not be asked: on a host whose
    real data root is elsewhere that is a verdict about the wrong directory (possibly a PASS)."""
    data = apply_case(hardened_data(), case)
    _, out, _ = run_main(["--facts", write_facts(tmp_path / "f.json", data), "-f", "json", "--check", "1.1"])
    result = by_id(out)["1.1"]
    assert result["status"] == expected and fragment in result["details"], result


# -- 5: a Python check that raises ---------------------------------------------------------------------

RAISING_PLUGIN = """
from bench.check import check, container_check, passed

@check("site-raises", title="A site check with a bug")
def raises(facts):
    raise RuntimeError("bug in site check")

@container_check("site-raises-on-web", title="A container check with a bug")
def raises_on_web(container, facts):
    if container.name == "web":
        raise ZeroDivisionError("division by zero")
    return passed("fine")
"""


@pytest.fixture
def raising_plugin(tmp_path, monkeypatch):
    (tmp_path / "sitefaults.py").write_text(textwrap.dedent(RAISING_PLUGIN))
    dist = tmp_path / "sitefaults-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sitefaults\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[docker_cis_bench.checks]\nsite = sitefaults\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("sitefaults", None)
    yield
    sys.modules.pop("sitefaults", None)


def test_a_raising_python_check_is_one_error_and_the_rest_still_run(raising_plugin):
    code, out, err = run_main(["--facts", HARDENED, "-f", "json"])
    results = by_id(out)
    assert results["site-raises"]["status"] == "ERROR"
    assert results["site-raises"]["details"] == "check site-raises crashed: RuntimeError: bug in site check"
    per_container = results["site-raises-on-web"]
    assert per_container["status"] == "ERROR"
    assert [(i["resource"], i["status"]) for i in per_container["items"]] == [("db", "PASS"), ("web", "ERROR")]
    # All 83 recommendations are judged as they are without the broken checks: all pass or are manual.
    profile = {k: v for k, v in results.items() if not k.startswith("site-")}
    assert len(profile) == 83 and not any(r["status"] in ("FAIL", "ERROR") for r in profile.values())
    assert code == 1 and err == "" and "Traceback" not in out


# -- 4: a daemon that answers, one byte at a time, forever -------------------------------------------------

@pytest.fixture
def dripping_socket(tmp_path):
    """A unix socket that starts an HTTP answer and then sends a byte every 0.2 s, forever: each
    read succeeds well within any timeout, the answer never ends."""
    def drip(conn, stop):
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
                while not stop.wait(0.2):
                    conn.sendall(b"X")
            except OSError:
                pass

    with unix_server(tmp_path / "drip.sock", drip) as path:
        yield path


def test_a_dripping_api_is_cut_off_by_the_per_call_timeout(dripping_socket):
    try:
        result = run_bench(["--host", f"unix://{dripping_socket}", "--timeout", "0.5", "-f", "json", "--check",
                            "1.2,2.5"], timeout=6)
    except subprocess.TimeoutExpired:
        pytest.fail("the audit did not finish within 6 s with --timeout 0.5")
    results = by_id(result.stdout)
    assert results["2.5"]["status"] == "ERROR" and results["1.2"]["status"] == "PASS"


# -- 5: check files: one line naming file and line, whatever the file holds or is called ---------------

def test_a_character_yaml_refuses_is_one_line_naming_file_and_line(tmp_path):
    # PyYAML's message for it runs over two lines and has no mark: the line is worked out.
    (tmp_path / "x.yaml").write_text("checks:\n  - id: x-y\x1f\n")
    code, _, err = run_main(["--facts", HARDENED, "--checks-dir", str(tmp_path)])
    assert_one_line_usage_error(code, err, "x.yaml:2: YAML error: unacceptable character #x001f")


def test_a_hostile_check_file_name_is_shown_escaped_on_one_line(tmp_path):
    (tmp_path / "e\x1b]0;x\x07\nvil.yaml").write_text("checks: {}\n")
    code, _, err = run_main(["--facts", HARDENED, "--checks-dir", str(tmp_path)])
    assert_one_line_usage_error(code, err, "e\\x1b]0;x\\x07\\x0avil.yaml", "'checks' must be a list")
    assert "\x1b" not in err


# -- 6: facts files --------------------------------------------------------------------------------------

def _truncated() -> bytes:
    text = json.dumps(hardened_data()).encode()
    return text[: len(text) * 2 // 3]


@pytest.mark.parametrize("content,fragment", [
    (_truncated(), "not valid JSON"),
    (b"", "not valid JSON"),
    (b"{'schema_version': 1}", "not valid JSON"),
    (b'{"schema_version": "1"}', "no integer schema_version"),
    (b'{"schema_version": 0}', "not supported"),
    (b'{"schema_version": 99}', "newer than this auditor reads"),
    (b'{"schema_version": 1, "daemon": {"argv": "dockerd"}}', "$.daemon.argv: expected a list"),
    (b'\xff\xfe{"schema_version": 1}', "not UTF-8"),
])
def test_bad_facts_files_exit_2_with_one_line(tmp_path, content, fragment):
    path = tmp_path / "facts.json"
    path.write_bytes(content)
    code, out, err = run_main(["--facts", str(path)])
    assert_one_line_usage_error(code, err, f"facts file {path}", fragment)
    assert out == ""


def test_a_facts_path_that_is_a_directory_exits_2(tmp_path):
    code, _, err = run_main(["--facts", str(tmp_path)])
    assert_one_line_usage_error(code, err, "cannot read facts file")


# -- 10: property: whatever bytes a facts file or check file holds, exit 0/1 or 2 with one line ---------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
def test_any_facts_file_is_audited_or_refused_with_exit_2(tmp_path, content):
    path = tmp_path / "facts.json"
    path.write_bytes(content)
    code, _, err = run_main(["--facts", str(path), "-q"])
    assert code in (0, 1, 2)
    if code == 2:
        assert err.count("\n") == 1 and "Traceback" not in err


yaml_fragments = st.sampled_from([
    "checks:", "  - id: x-y", "    title: t", "    target: daemon", "    target: file", "    field: icc",
    "    op: equals", "    op: mode_at_most", "    value: false", '    value: "0644"', "    file: daemon.json",
    "    default: true", "    bogus: 1", "  - id: x-y", "    title: [unclosed", "\t", "- ", ": :", "&a *a", "!!python/object:os.system",
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(yaml_fragments | st.text(max_size=20), max_size=12))
def test_any_check_file_loads_or_is_refused_with_exit_2(tmp_path, lines):
    folder = tmp_path / "checks"
    folder.mkdir(exist_ok=True)
    (folder / "site.yaml").write_text("\n".join(lines) + "\n")
    code, _, err = run_main(["--facts", HARDENED, "--checks-dir", str(folder), "-q"])
    assert code in (0, 1, 2)
    if code == 2:
        assert err.count("\n") == 1 and "site.yaml" in err and "Traceback" not in err


# -- 7: hostile strings the Docker API cannot carry: image tags, non-UTF-8 file names ---------------------

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m\r\n<x a='&'>\"\x00\x01\x0b\x7f\x9b\u202eevil\u2066"


def check_all_formats(args: list[str]) -> dict[str, str]:
    """Render the audit in every format and check each is well-formed and inert."""
    outputs = {}
    for fmt, extra in (("text", ["--color", "always", "--wide"]), ("text", ["--color", "never"]),
                       ("json", []), ("junit", [])):
        code, out, err = run_main([*args, "-f", fmt, *extra])
        assert code in (0, 1), err
        out.encode("utf-8")  # strict: no lone surrogates reach the output
        if fmt == "text":
            assert_inert_text(out, coloured="always" in extra)
        elif fmt == "json":
            jsonschema.validate(json.loads(out), report_schema())
        else:
            junit_schema().validate(out)
            ET.fromstring(out.encode("utf-8"))
        outputs[fmt + ("-colour" if "always" in extra else "")] = out
    outputs.update(check_tool_formats(lambda argv: run_main(argv)[::2], args))
    return outputs


def test_hostile_image_tags_stay_inert(tmp_path):
    """Docker's reference grammar refuses such tags, but the facts may come from anywhere (a recorded
    file, a patched engine): the reports must not care."""
    data = hardened_data()
    image = data["images"]["items"][0]
    image["RepoTags"] = [f"evil.example/{HOSTILE}:{HOSTILE}", "x" * 10000 + ":1"]
    image["Created"] = 1000  # old: named in 4.4 as well
    data["containers"]["items"][0]["inspect"]["Config"]["Labels"] = {HOSTILE: HOSTILE}
    outputs = check_all_formats(["--facts", write_facts(tmp_path / "f.json", data)])
    assert "\\x1b]0;pwned" in outputs["text-colour"]       # shown, escaped
    images = by_id(outputs["json"])["4.3"]["details"]
    assert "\x1b]0;pwned" in images                         # JSON keeps the data; its encoding makes it safe


def test_non_utf8_and_hostile_file_names_stay_inert(tmp_path):
    """A host root (--root) whose registry certificate directory holds names with escape sequences,
    XML specials, control characters, a very long name and bytes that are not UTF-8."""
    root = tmp_path / "host"
    certs = root / "etc" / "docker" / "certs.d"
    registry = certs / ("reg\x1b[31m<&'\">\x01" + "\u202e")
    registry.mkdir(parents=True)
    for name in (b"ca\xff\xfe.crt", b"k\n\x1b]0;x\x07.key", b"L" * 250):
        fd = os.open(os.fsencode(registry) + b"/" + name, os.O_WRONLY | os.O_CREAT, 0o644)
        os.close(fd)
    (root / "proc").symlink_to("/proc")
    args = ["--root", str(root), "--host", f"unix://{tmp_path}/none.sock", "--timeout", "1", "--check", "3.7,3.8"]
    outputs = check_all_formats(args)
    data = json.loads(outputs["json"])
    resources = [i["resource"] for r in data["results"] for i in r["items"]]
    assert any(r.endswith("ca\\udcff\\udcfe.crt") for r in resources), resources  # shown, escaped
    assert "\\udcff" in outputs["text-colour"] and "\\x1b[31m" in outputs["text-colour"]  # --wide: in full
    assert {r["status"] for r in data["results"]} == {"FAIL"}  # 0644 keys and certificates: judged


# -- 8: a reader never sees half a report ---------------------------------------------------------------------

def big_facts(count: int) -> dict:
    data = hardened_data()
    items = container_copies(data, count, lambda n, item: f"{item['name']}-{n}")
    for n, item in enumerate(items):
        item["inspect"]["HostConfig"]["Privileged"] = n % 3 == 0  # findings: long item lists
    data["containers"]["items"] = items
    return data


def test_a_reader_never_sees_half_a_report(tmp_path):
    """The CLI writes a multi-megabyte report to the same --output several times while a reader
    polls the path: the reader finds no file (before the first), or a complete report."""
    facts = write_facts(tmp_path / "facts.json", big_facts(800))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "report.json"
    stop = threading.Event()
    seen = {"absent": 0, "complete": 0, "bad": []}

    def poll() -> None:
        while not stop.is_set():
            try:
                data = target.read_bytes()
            except FileNotFoundError:
                seen["absent"] += 1
                continue
            try:
                report = json.loads(data)
                assert len(report["results"]) == 83
                seen["complete"] += 1
            except (ValueError, KeyError, AssertionError) as exc:
                seen["bad"].append(f"{len(data)} bytes: {exc}")

    reader = threading.Thread(target=poll, daemon=True)
    reader.start()
    try:
        for _ in range(3):
            result = run_bench(["--facts", facts, "-f", "json", "-o", str(target), "--fail-on", "never"])
            assert result.returncode == 0, result.stderr
    finally:
        stop.set()
        reader.join(10)
    assert seen["bad"] == []
    assert seen["complete"] > 0
    assert target.stat().st_size > 2_000_000  # large enough that a plain write would be seen half-done
    assert sorted(p.name for p in out_dir.iterdir()) == ["report.json"]  # no temporary file left
