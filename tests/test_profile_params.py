"""A profile's `params` are checked against the checks they set before any facts are read: a
misspelt name or a value the check refuses is exit 2 naming file, line and field, never a check run
with its default (a false PASS) or a crash after collection."""
import pytest

from bench.catalog import load_checks
from bench.check import Check, passed
from bench.cli import audit
from bench.cli.parser import UsageError
from bench.evaluate import evaluate
from bench.facts import Facts
from bench.profile import ProfileError, Recommendation, load_all_profiles, load_profile
from bench.selection import selection_for
from bench.status import Status
from helpers import HARDENED_FACTS, run_main

HARDENED = str(HARDENED_FACTS)


def write_profile(tmp_path, checks, params_lines, name="custom.yaml"):
    """A one-recommendation profile whose params block starts on line 10."""
    text = (
        "id: custom\n"                          # 1
        "title: Custom\n"                       # 2
        'sections: {"1": "One"}\n'              # 3
        "recommendations:\n"                    # 4
        '  - id: "1.1"\n'                       # 5
        "    title: A setting\n"                # 6
        "    scored: true\n"                    # 7
        "    level: 1\n"                        # 8
        f"    checks: [{', '.join(checks)}]\n"  # 9
        + "".join(f"    {line}\n" for line in params_lines))
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def audit_with(path, *extra):
    return run_main(["--profile", path, "--facts", HARDENED, "-f", "json", *extra])


def assert_refused(code, out, err, where, *words):
    assert code == 2, (out, err)
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith("docker-cis-bench: error: ") and "internal error" not in err and "Traceback" not in err
    assert f"{where}, recommendation '1.1', field 'params': " in err, err
    for word in words:
        assert word in err, err


def test_a_misspelt_parameter_name_is_refused_naming_file_line_and_field(tmp_path):
    path = write_profile(tmp_path, ["engine-version-supported"],
                         ['params: {engine-version-supported: {minimun: "99.0"}}'])
    assert_refused(*audit_with(path), f"{path}:10", "'minimun'", "minimum")


def test_the_right_spelling_still_sets_the_check(tmp_path):
    path = write_profile(tmp_path, ["engine-version-supported"],
                         ['params: {engine-version-supported: {minimum: "99.0"}}'])
    code, out, err = audit_with(path)
    assert code == 1 and err == ""
    assert '"status": "FAIL"' in out and "minimum is 99.0" in out


def test_a_value_the_checks_prepare_refuses_is_exit_2_not_an_internal_error(tmp_path):
    path = write_profile(tmp_path, ["exec-no-user"], ["params:", "  exec-no-user:", '    users: "admin"'])
    # Line 12: the parameter's own line, not the recommendation's.
    assert_refused(*audit_with(path), f"{path}:12", "exec-no-user.users", "'admin'")
    fixed = write_profile(tmp_path, ["exec-no-user"], ["params:", "  exec-no-user:", '    users: "root"'], "ok.yaml")
    code, _, err = audit_with(fixed)
    assert code in (0, 1) and err == ""


def test_a_number_is_prepared_too_not_passed_around_the_check(tmp_path):
    # An unquoted 0 used to reach the check unprepared: prepare() saw only text.
    path = write_profile(tmp_path, ["swarm-manager-count"], ["params: {swarm-manager-count: {managers: 0}}"])
    assert_refused(*audit_with(path), f"{path}:10", "swarm-manager-count.managers")


def test_a_list_is_prepared_as_the_comma_list_param_would_give(tmp_path):
    path = write_profile(tmp_path, ["container-sensitive-mounts"],
                         ["params: {container-sensitive-mounts: {directories: [/etc, usr]}}"])
    assert_refused(*audit_with(path), f"{path}:10", "absolute paths")


def test_an_unquoted_number_for_a_text_setting_is_refused(tmp_path):
    # YAML reads 28.10 as the number 28.1: the check would compare with the wrong minimum.
    path = write_profile(tmp_path, ["engine-version-supported"],
                         ["params: {engine-version-supported: {minimum: 28.10}}"])
    assert_refused(*audit_with(path), f"{path}:10", "engine-version-supported.minimum", "quote")


def test_settings_for_a_check_the_recommendation_does_not_use_are_refused(tmp_path):
    path = write_profile(tmp_path, ["engine-version-supported"],
                         ["params:", '  engine-version-supported: {minimum: "28.0"}',
                          '  exec-no-user: {users: "root"}'])
    assert_refused(*audit_with(path), f"{path}:12", "'exec-no-user'", "engine-version-supported")


def test_profile_params_are_refused_before_any_facts_are_read(tmp_path, monkeypatch):
    import bench.facts_file

    read = []
    monkeypatch.setattr(bench.facts_file, "read_facts_file", lambda *a, **k: read.append(a))
    monkeypatch.setattr(audit, "collect", lambda *a, **k: read.append(a))
    path = write_profile(tmp_path, ["exec-no-user"], ['params: {exec-no-user: {users: "admin"}}'])
    assert run_main(["--profile", path, "--facts", HARDENED])[0] == 2
    assert run_main(["--profile", path])[0] == 2
    assert read == []


def test_selection_checks_the_params_against_the_catalog(tmp_path):
    catalog = load_checks(plugins=False)
    path = write_profile(tmp_path, ["engine-version-supported"],
                         ['params: {engine-version-supported: {nosuch: "1"}}'])
    profile = load_profile(path)
    with pytest.raises(ProfileError, match=r":10, recommendation '1.1', field 'params': .*'nosuch'"):
        selection_for(profile, catalog, [], [])


def test_every_shipped_profile_sets_only_what_its_checks_take():
    from bench.profile import check_params

    catalog = load_checks(plugins=False)
    for profile in load_all_profiles():
        check_params(profile, catalog)


def _typed(default):
    return Check(id="t-typed", title="t", needs=(), run=lambda facts, values: passed("ok"),
                 params={"limit": default})


@pytest.mark.parametrize("default,good,bad", [
    (50, ["7", 7], ["abc", "7.5", True]),
    (1.5, ["2", "2.5", 2], ["abc", False]),
    (True, ["false", False], ["yes", 1]),
    ("text", ["anything"], [3, 3.5, True]),
])
def test_a_check_without_prepare_is_held_to_its_defaults_type(default, good, bad):
    from bench.yaml_checks.params import param_value

    check = _typed(default)
    for value in good:
        param_value(check, "limit", value)
    for value in bad:
        with pytest.raises(ValueError):
            param_value(check, "limit", value)


def test_param_on_the_command_line_refuses_a_value_of_the_wrong_type():
    catalog = {"t-typed": _typed(50)}
    assert audit._params(["t-typed.limit=7"], catalog) == {"t-typed": {"limit": "7"}}
    with pytest.raises(UsageError, match="t-typed.limit=abc: .*whole number"):
        audit._params(["t-typed.limit=abc"], catalog)
    with pytest.raises(UsageError, match="has no parameter 'nosuch'"):
        audit._params(["t-typed.nosuch=1"], catalog)


def test_param_on_the_command_line_still_refuses_what_prepare_refuses():
    code, out, err = run_main(["--facts", HARDENED, "--param", "exec-no-user.users=admin"])
    assert code == 2 and out == "" and err.count("\n") == 1 and "'admin'" in err


def test_evaluate_never_passes_a_check_whose_profile_settings_were_not_checked():
    # A caller that skipped selection_for: the bad setting is ERROR, not the default's verdict.
    checks = {c.id: c for c in load_checks(plugins=False) if c.id in ("exec-no-user", "engine-version-supported")}
    for check_id, settings in (("exec-no-user", {"users": "admin"}), ("engine-version-supported", {"minimun": "99"})):
        rec = Recommendation(id="1.1", section="1", title="t", scored=True, level=1, checks=(check_id,),
                             remediation="", automation="automated", params={check_id: settings})
        [result] = evaluate([rec], checks, Facts())
        assert result.status == Status.ERROR and "params" in result.details, result.details


def test_a_minimum_engine_version_that_is_no_version_is_refused():
    code, _, err = run_main(["--facts", HARDENED, "--param", "engine-version-supported.minimum=abc"])
    assert code == 2 and "takes a version such as 28.0" in err and err.count("\n") == 1
