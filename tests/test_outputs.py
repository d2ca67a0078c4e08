"""Several reports from one audit: `-o FORMAT:FILE`, repeatable; one collection, one evaluation."""
from __future__ import annotations

import json
import os

import pytest

import bench.evaluate
from bench.cli import main
from bench.facts import SCHEMA_VERSION
from bench.outputs import Output, OutputSpecError, parse_outputs
from bench.reporters import FORMATS
from helpers import FIXTURES

HARDENED = str(FIXTURES / "hardened-host.json")


def test_each_format_to_its_file_from_one_evaluation(tmp_path, capsys, mocker):
    spy = mocker.spy(bench.evaluate, "evaluate")
    targets = {fmt: tmp_path / f"report.{fmt}" for fmt in FORMATS}
    args = ["--facts", HARDENED]
    for fmt, path in targets.items():
        args += ["-o", f"{fmt}:{path}"]
    assert main(args) == 0
    assert capsys.readouterr().out == ""
    assert spy.call_count == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in targets.values())  # no temp files
    assert json.loads(targets["json"].read_text())["summary"]["FAIL"] == 0
    assert targets["junit"].read_text().startswith("<?xml")
    assert json.loads(targets["sarif"].read_text())["version"] == "2.1.0"
    assert targets["html"].read_text().startswith("<!DOCTYPE html>")
    assert "\x1b[" not in targets["text"].read_text()          # files are never coloured unless asked
    assert max(len(line) for line in targets["text"].read_text().splitlines()) <= 100   # not a terminal: 100


def test_a_collected_host_is_collected_once(tmp_path, mocker, monkeypatch):
    import bench.collect

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    spy = mocker.spy(bench.collect, "collect_facts")
    main(["--timeout", "1", "--check", "2.1", "-o", f"json:{tmp_path / 'a.json'}", "-o", f"html:{tmp_path / 'a.html'}"])
    assert spy.call_count == 1
    assert (tmp_path / "a.json").exists() and (tmp_path / "a.html").exists()


def test_stdout_and_files_together_and_format_for_plain_files(tmp_path, capsys):
    plain = tmp_path / "2026-11-27T03:00:00.xml"      # a colon in a name is not a format
    assert main(["--facts", HARDENED, "-f", "junit", "-o", str(plain), "-o", "json:-"]) == 0
    assert json.loads(capsys.readouterr().out)["schema_version"] == 1
    assert plain.read_text().startswith("<?xml")


def test_quiet_writes_the_files_and_prints_one_line(tmp_path, capsys):
    facts = tmp_path / "f.json"
    data = json.loads(open(HARDENED).read())
    data["containers"]["items"][0]["inspect"]["HostConfig"]["Privileged"] = True
    facts.write_text(json.dumps(data))
    code = main(["--facts", str(facts), "-q", "-o", f"sarif:{tmp_path / 'a.sarif'}", "-o", "text:-",
                 "-o", f"prometheus:{tmp_path / 'a.prom'}"])
    out = capsys.readouterr().out
    assert code == 1 and out.count("\n") == 1 and "3 FAIL" in out
    assert (tmp_path / "a.sarif").exists() and (tmp_path / "a.prom").exists()


@pytest.mark.parametrize("specs,message", [
    (["html:"], "no file name after 'html:'"),
    (["json:x.json", "html:./x.json"], "name the same destination"),
    (["json:-", "text:-"], "name the same destination"),
])
def test_bad_output_specs_are_usage_errors(specs, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["--facts", HARDENED]
    for spec in specs:
        args += ["-o", spec]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_is_one_line_exit_2(tmp_path, capsys):
    assert main(["--facts", HARDENED, "-o", f"html:{tmp_path / 'missing' / 'r.html'}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err and "r.html" in err


def test_each_output_replaces_a_planted_symlink(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    for name in ("a.html", "a.prom"):
        (tmp_path / name).symlink_to(victim)
    args = ["-o", f"html:{tmp_path / 'a.html'}", "-o", f"prometheus:{tmp_path / 'a.prom'}"]
    assert main(["--facts", HARDENED, *args]) == 0
    assert victim.read_text() == "precious"
    assert not (tmp_path / "a.html").is_symlink() and not (tmp_path / "a.prom").is_symlink()
    assert (tmp_path / "a.prom").read_text().startswith("# HELP")


def test_parse_outputs():
    assert parse_outputs(None, "text", FORMATS) == [Output("text", None)]
    assert parse_outputs(["a.json", "html:b.html", "sarif:-", "x:y"], "json", FORMATS) == [
        Output("json", "a.json"), Output("html", "b.html"), Output("sarif", None), Output("json", "x:y")]
    with pytest.raises(OutputSpecError):
        parse_outputs(["a", "./a"], "json", FORMATS)


def test_record_takes_one_plain_output(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    target = tmp_path / "facts.json"
    assert main(["record", "--timeout", "1", "-o", str(target)]) == 0
    assert json.loads(target.read_text())["schema_version"] == SCHEMA_VERSION
    assert oct(os.stat(target).st_mode & 0o777) == "0o600"


def test_merge_output_errors_are_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = tmp_path / "a.json"
    assert main(["--facts", HARDENED, "-o", f"json:{report}"]) == 0
    for spec, message in (("html:", "no file name after 'html:'"),
                          (f"prometheus:{tmp_path / 'missing' / 'f.prom'}", "cannot write"),
                          ("sarif:x.sarif", "does not write sarif")):   # an audit's format, not a fleet's
        code = main(["merge", str(report), "-o", spec])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
