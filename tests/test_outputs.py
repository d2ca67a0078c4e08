"""Several reports from one audit: `-o FORMAT:FILE`, repeatable; one collection, one evaluation."""
from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import threading
import time

import pytest

import bench.evaluate
from bench.cli import main
from bench.facts import SCHEMA_VERSION
from bench.outputs import Output, OutputSpecError, parse_outputs
from bench.reporters import FORMATS
from helpers import FIXTURES, REPO, run_bench

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


def test_a_link_to_a_fifo_or_a_device_is_written_through_and_kept(tmp_path):
    fifo, to_fifo, to_null = tmp_path / "fifo", tmp_path / "to-fifo.json", tmp_path / "to-null.html"
    os.mkfifo(fifo)
    to_fifo.symlink_to(fifo)
    to_null.symlink_to(os.devnull)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    try:
        code = main(["--facts", HARDENED, "-o", f"json:{to_fifo}", "-o", f"html:{to_null}"])
    finally:
        # A reader still waiting (nothing wrote to the FIFO: the link was replaced instead) is let
        # go with an EOF; opening fails with ENXIO while no reader has the FIFO open, so retry.
        deadline = time.monotonic() + 10
        while reader.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            reader.join(0.1)
    assert code == 0
    assert to_fifo.is_symlink() and os.readlink(to_fifo) == str(fifo) and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert to_null.is_symlink() and os.readlink(to_null) == os.devnull
    assert json.loads(received[0])["summary"]["FAIL"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "to-fifo.json", "to-null.html"]   # no temp files


def test_output_to_dev_stdout_goes_to_standard_output():
    assert os.path.islink("/dev/stdout")
    try:
        result = run_bench(["--facts", HARDENED, "-o", "json:/dev/stdout"])
    finally:
        if not os.path.islink("/dev/stdout"):
            # The auditor replaced it (as root): put the link back for every other process first.
            os.symlink("/proc/self/fd/1", "/dev/.stdout.restore")
            os.replace("/dev/.stdout.restore", "/dev/stdout")
            pytest.fail("-o /dev/stdout replaced /dev/stdout with a regular file")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["FAIL"] == 0
    assert not [name for name in os.listdir("/dev") if name.startswith(".stdout.")]   # no temp file left


def test_a_bad_destination_refuses_the_whole_set(tmp_path, capsys):
    earlier = tmp_path / "p1.json"
    earlier.write_text("earlier report")
    (tmp_path / "a-directory").mkdir()
    for bad in (tmp_path / "missing" / "x.html", tmp_path / "a-directory", earlier / "x.html"):
        code = main(["--facts", HARDENED, "-o", "text:-", "-o", f"json:{earlier}", "-o", f"html:{bad}"])
        captured = capsys.readouterr()
        assert code == 2 and captured.err.count("\n") == 1 and f"cannot write {bad}" in captured.err, captured.err
        assert earlier.read_text() == "earlier report"
        assert captured.out == ""
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a-directory", "p1.json"]


def test_an_unwritable_directory_refuses_the_whole_set(tmp_path, capsys):
    earlier, locked = tmp_path / "p1.json", tmp_path / "locked"
    earlier.write_text("earlier report")
    locked.mkdir(mode=0o555)
    if os.access(locked, os.W_OK):
        locked.chmod(0o755)
        pytest.skip("this process may write in a directory without write permission (root)")
    try:
        assert main(["--facts", HARDENED, "-o", f"json:{earlier}", "-o", f"html:{locked / 'x.html'}"]) == 2
    finally:
        locked.chmod(0o755)
    assert "Permission denied" in capsys.readouterr().err
    assert earlier.read_text() == "earlier report"


def test_a_link_to_the_processs_own_stdout_writes_there_whatever_it_is_open_on(tmp_path):
    # `-o /dev/stdout > out.json`: the link leads to a regular file, and is still no file to replace.
    link, out = tmp_path / "stdout-link", tmp_path / "out.json"
    os.symlink("/proc/self/fd/1", link)
    with open(out, "w") as handle:
        result = subprocess.run([sys.executable, "-m", "bench", "--facts", HARDENED, "-o", f"json:{link}"],
                                cwd=REPO, stdout=handle, stderr=subprocess.PIPE, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert os.path.islink(link) and os.readlink(link) == "/proc/self/fd/1"
    assert json.loads(out.read_text())["summary"]["FAIL"] == 0


def test_a_link_to_another_device_is_replaced_not_written_through(tmp_path):
    # A planted link to a device that is no FIFO, /dev/null or terminal (/dev/mem would be another).
    link = tmp_path / "report.json"
    os.symlink("/dev/zero", link)
    assert main(["--facts", HARDENED, "-q", "-o", f"json:{link}"]) == 0
    assert not os.path.islink(link) and json.loads(link.read_text())["summary"]["FAIL"] == 0
