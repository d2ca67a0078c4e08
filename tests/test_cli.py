"""The command line: subcommands, exit codes, output files, usage errors (one line, exit 2)."""
import json
import os
import stat

import pytest

from bench.cli import main
from helpers import HARDENED_FACTS, REPO, by_id, hardened_data, run_bench, run_main, write_case
from helpers import write_facts as write_data

HARDENED = str(HARDENED_FACTS)


def write_facts(tmp_path, case):
    return write_case(tmp_path / "facts.json", case)


def test_hardened_host_passes_with_exit_0():
    code, out, err = run_main(["--facts", HARDENED])
    assert code == 0, out
    assert "Score: 64 of 64" in out and err == ""


def test_audit_is_the_default_command_and_failures_exit_1(tmp_path):
    facts = write_facts(tmp_path, {"container": {"inspect": {"HostConfig": {"Privileged": True}}}})
    code, out, _ = run_main(["--facts", facts, "--format", "json"])
    assert code == 1
    result = next(r for r in json.loads(out)["results"] if r["id"] == "5.4")
    assert result["status"] == "FAIL" and result["items"][1]["resource"] == "web"
    assert run_main(["audit", "--facts", facts, "--fail-on", "never", "-q"])[0] == 0


def test_fail_on_warn_and_errors_count_as_failures(tmp_path):
    warn_only = write_facts(tmp_path, {"daemon_json": {"default-ulimits": "__delete__"}})
    assert run_main(["--facts", warn_only, "-q"])[0] == 0
    assert run_main(["--facts", warn_only, "-q", "--fail-on", "warn"])[0] == 1
    broken = write_facts(tmp_path, {"facts": {"engine": {"error": "permission denied on the Docker API socket"}}})
    assert run_main(["--facts", broken, "-q"])[0] == 1  # an audit that could not look does not pass


def test_check_skip_and_level_select():
    code, out, _ = run_main(["--facts", HARDENED, "--format", "json", "--check", "5,2.1", "--skip", "5.4,container-user"])
    ids = [r["id"] for r in json.loads(out)["results"]]
    assert "2.1" in ids and "5.1" in ids and "5.4" not in ids and "4.1" not in ids and "1.1" not in ids
    code, out, _ = run_main(["--facts", HARDENED, "--format", "json", "--level", "1"])
    assert all(r["level"] == 1 for r in json.loads(out)["results"])


def test_output_file_is_written_and_stdout_stays_empty(tmp_path):
    target = tmp_path / "report.xml"
    code, out, _ = run_main(["--facts", HARDENED, "--format", "junit", "--output", str(target)])
    assert code == 0 and out == ""
    assert target.read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert [p.name for p in tmp_path.iterdir()] == ["report.xml"]  # no temporary file left behind


def test_output_replaces_a_planted_symlink_instead_of_following_it(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "report.json"
    link.symlink_to(victim)
    assert run_main(["--facts", HARDENED, "-f", "json", "-o", str(link)])[0] == 0
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and json.loads(link.read_text())["schema_version"] == 1


@pytest.mark.parametrize("args,message", [
    (["--format", "yaml"], "invalid choice"),
    (["--level", "3"], "invalid choice"),
    (["--check", "9.99", "--facts", HARDENED], "'9.99' is neither"),
    (["--facts", "/nonexistent/facts.json"], "cannot read facts file"),
    (["--profile", "nope"], "no profile 'nope'"),
    (["--timeout", "0"], "must be greater than 0"),
    (["--param", "nonsense", "--facts", HARDENED], "CHECK.NAME=VALUE"),
    (["--param", "no-such-check.x=1", "--facts", HARDENED], "no check named"),
    (["--param", "host-kernel-version.value=banana", "--facts", HARDENED], "not a version"),
    (["--checks-dir", "/nonexistent"], "not a directory"),
])
def test_usage_errors_exit_2_with_one_line(args, message):
    code, out, err = run_main(args)
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert err.startswith("docker-cis-bench: error: ")


def test_bad_facts_file_exits_2(tmp_path):
    bad = tmp_path / "f.json"
    bad.write_text('{"schema_version": 99}')
    code, _, err = run_main(["--facts", str(bad)])
    assert code == 2 and "newer than this auditor reads" in err
    bad.write_bytes(b"\xff\xfe{")
    assert run_main(["--facts", str(bad)])[0] == 2


def test_bad_check_file_exits_2_naming_file_check_and_field(tmp_path):
    (tmp_path / "x.yaml").write_text("checks:\n  - id: x-y\n    title: t\n    target: daemon\n    field: icc\n    op: equal\n")
    code, _, err = run_main(["--facts", HARDENED, "--checks-dir", str(tmp_path)])
    assert code == 2
    assert "x.yaml:6, check 'x-y', field 'op': unknown operator 'equal'" in err


def test_user_checks_outside_the_profile_are_reported(tmp_path):
    (tmp_path / "x.yaml").write_text(
        "checks:\n  - id: site-log-level-warn\n    title: Site policy\n    target: daemon\n"
        "    field: log-level\n    op: equals\n    value: warn\n    default: info\n")
    code, out, _ = run_main(["--facts", HARDENED, "--checks-dir", str(tmp_path), "-f", "json", "--check", "site-log-level-warn"])
    data = json.loads(out)
    assert [r["id"] for r in data["results"]] == ["site-log-level-warn"]
    assert data["results"][0]["status"] == "FAIL" and data["results"][0]["section"] == "custom"
    assert code == 1


def test_param_changes_a_checks_expectation():
    code, out, _ = run_main(["--facts", HARDENED, "-f", "json", "--check", "1.2", "--param", "host-kernel-version.value=7.0"])
    assert json.loads(out)["results"][0]["status"] == "FAIL"


def test_list_shows_all_83_and_the_checks():
    code, out, _ = run_main(["list", "--format", "json"])
    recs = json.loads(out)["recommendations"]
    assert code == 0 and len(recs) == 83 and recs[0]["id"] == "1.1"
    code, out, _ = run_main(["list", "--checks"])
    assert "container-not-privileged" in out and "checks/containers.yaml" in out
    code, out, _ = run_main(["list", "--files"])
    assert "tls-key" in out


def test_record_writes_owner_only_facts(tmp_path, monkeypatch):
    # Recording a host with no reachable daemon still works, records why, and the file is 0600.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/missing.sock")
    target = tmp_path / "facts.json"
    code, _, err = run_main(["record", "-o", str(target), "--timeout", "2"])
    assert code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    data = json.loads(target.read_text())
    assert data["engine"]["error"] and "does not exist" in data["engine"]["error"]
    assert "cannot reach the Docker daemon" in err and err.count("\n") == 1


def test_python_dash_m_and_the_console_script_agree():
    result = run_bench(["--facts", HARDENED], cwd="/", env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert result.returncode == 0 and "Score: 64 of 64" in result.stdout


def test_profile_auto_says_which_edition_and_why_on_stderr_in_text_and_in_json():
    code, text, err = run_main(["audit", "--facts", HARDENED, "--profile", "auto"])
    assert err.startswith("docker-cis-bench: --profile auto: cis-docker-") and err.count("\n") == 1
    reason = err.split(", as ", 1)[1].strip()
    assert f"chosen as {reason}" in " ".join(text.split())     # the text report wraps long lines
    _, out, _ = run_main(["audit", "--facts", HARDENED, "--profile", "auto", "--format", "json"])
    assert json.loads(out)["profile"]["chosen_because"] == reason


def test_facts_recorded_with_all_judge_stopped_containers_as_asked_then(tmp_path):
    import copy

    data = hardened_data()
    stopped = copy.deepcopy(data["containers"]["items"][0])
    stopped.update(id="f" * 64, name="old-job")
    stopped["inspect"].update(Id="f" * 64, Name="/old-job", State={"Running": False, "Status": "exited"})
    stopped["inspect"]["HostConfig"]["Privileged"] = True
    data["containers"]["items"].append(stopped)
    data["containers"]["scope"] = "all"

    def verdict(requested: str, *extra: str) -> str:
        data["containers"]["requested"] = requested
        facts = write_data(tmp_path / f"facts-{requested}.json", data)
        return by_id(run_main(["audit", "--facts", facts, "--format", "json", "--check", "5.4", *extra])[1])["5.4"]["status"]

    assert verdict("running") == "PASS"           # recorded for an edition that judges all: 1.11.0 does not
    assert verdict("running", "--all") == "FAIL"
    assert verdict("all") == "FAIL"               # `record --all`: the user asked for every container
    assert verdict("") == "FAIL"                  # an earlier release's facts: scope all meant --all
    assert by_id(run_main(["audit", "--facts", str(tmp_path / "facts-.json"), "--format", "json",
                           "--profile", "cis-docker-1.8.0", "--check", "5.5"])[1])["5.5"]["status"] == "FAIL"


@pytest.mark.parametrize("selection", [["--check", "5", "--skip", "5"], ["--level", "1", "--check", "4.5"]])
def test_a_selection_that_leaves_nothing_to_audit_is_refused(selection, capsys):
    # An empty audit would exit 0: a cron line whose options cancel out must not pass silently.
    assert main(["--facts", str(HARDENED_FACTS), *selection]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "leave no recommendation of cis-docker-1.11.0 to audit" in err


@pytest.mark.parametrize("option", [["--exclude", "db"], ["--include", "web"], ["--root", "/host"],
                                    ["--host", "unix:///x.sock"], ["--timeout", "3"]])
def test_collection_options_with_facts_are_refused_not_ignored(option, capsys):
    # --exclude db on recorded facts still reported db (found by a docs review): refuse, naming why.
    assert main(["--facts", str(HARDENED_FACTS), *option]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option[0] in err and "--facts collects nothing" in err


def test_a_profile_file_of_ones_own_under_a_shipped_id_is_refused(tmp_path, capsys):
    # Its reports would pass for that edition's in merges and baselines (found by an input review).
    mine = tmp_path / "mine.yaml"
    mine.write_text((REPO / "profiles" / "cis-docker-1.11.0.yaml").read_text())
    assert main(["--facts", str(HARDENED_FACTS), "--profile", str(mine)]) == 2
    assert "is a shipped edition's" in capsys.readouterr().err
    assert main(["--facts", str(HARDENED_FACTS), "-q", "--profile", str(REPO / "profiles" / "cis-docker-1.11.0.yaml")]) == 0


def test_merge_top_takes_a_positive_number(capsys):
    assert main(["merge", "--top", "-1", "x.json"]) == 2
    assert "--top: must be greater than 0" in capsys.readouterr().err
