"""Check files: what loads, and how a bad one is refused (file, line, check and field named)."""
import textwrap

import pytest

from bench.evaluate import run_check
from bench.catalog import CheckSet, load_checks, load_yaml_dir
from bench.status import Status
from bench.yaml_checks import CheckFileError, load_check_file
from helpers import facts_of, hardened_data

GOOD = """
checks:
  - id: my-icc
    title: icc is off
    target: daemon
    field: icc
    op: equals
    value: false
    default: true
"""


def load(text):
    return load_check_file(textwrap.dedent(text), "my.yaml")


def error_of(text):
    with pytest.raises(CheckFileError) as info:
        load(text)
    return info.value


def test_a_good_file_compiles_to_checks():
    (check,) = load(GOOD)
    assert check.id == "my-icc" and check.kind == "yaml" and check.wants == ("engine", "daemon")
    assert check.source == "my.yaml:3"
    assert run_check(check, facts_of(hardened_data())).status == Status.PASS


@pytest.mark.parametrize("text,line,check,field,message", [
    ("checks:\n  - id: a-b\n    title: [unclosed\n", 4, None, None, "YAML syntax error"),
    (GOOD.replace("    op: equals", "    op: equal"), 7, "my-icc", "op", "unknown operator 'equal'"),
    (GOOD.replace("    default: true", "    defualt: true"), 9, "my-icc", "defualt", "unknown field"),
    (GOOD.replace("    value: false", "    value: [false]"), 8, "my-icc", "value", "single value"),
    (GOOD.replace("    target: daemon", "    target: moon"), 5, "my-icc", "target", "must be one of"),
    (GOOD.replace("    field: icc", "    field: icc-mode"), 6, "my-icc", "field", "not a dockerd option"),
    (GOOD.replace("id: my-icc", "id: My_ICC"), 3, "My_ICC", "id", "lower-case"),
    (GOOD.replace("    title: icc is off\n", ""), 3, "my-icc", "title", "required"),
    (GOOD + "    op: equals\n", 10, None, None, "'op' appears twice"),
    (GOOD + GOOD.replace("checks:\n", ""), 11, "my-icc", "id", "duplicate check id"),
])
def test_bad_files_name_file_line_check_and_field(text, line, check, field, message):
    error = error_of(text)
    assert error.path == "my.yaml"
    assert error.line == line, str(error)
    assert error.check == check and error.field == field, str(error)
    assert message in str(error)
    assert str(error).startswith(f"my.yaml:{line}")


def test_file_checks_validate_roles_and_modes():
    base = """
    checks:
      - id: f-mode
        title: t
        target: file
        file: {file}
        op: mode_at_most
        value: {value}
    """
    assert "unknown file role" in str(error_of(base.format(file="docker.sevrice", value='"0644"')))
    assert "quoted octal" in str(error_of(base.format(file="docker.service", value="0644")))
    (check,) = load(base.format(file="/etc/hosts", value='"0644"'))
    assert check.paths == ("/etc/hosts",)


def test_operators_must_suit_their_target():
    text = """
    checks:
      - id: c-mode
        title: t
        target: container
        field: HostConfig.Privileged
        op: mode_at_most
        value: "0644"
    """
    assert "applies to files only" in str(error_of(text))


def test_empty_and_top_level_errors():
    assert load("") == []
    assert load("checks: []") == []
    assert "unknown top-level key 'check'" in str(error_of("check: []"))
    assert "'checks' must be a list" in str(error_of("checks: {}"))


def test_user_folder_adds_yaml_checks_and_refuses_python(tmp_path):
    (tmp_path / "mine.yaml").write_text(GOOD)
    checks = load_checks([tmp_path], plugins=False)
    assert "my-icc" in checks and "daemon-icc-disabled" in checks
    assert "my-icc" not in checks.builtin_ids
    (tmp_path / "evil.py").write_text("import os; os.system('touch /tmp/pwned')\n")
    with pytest.raises(CheckFileError, match="holds YAML only"):
        load_checks([tmp_path], plugins=False)


def test_duplicate_ids_across_files_are_refused(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(CheckFileError, match="duplicate check id; already defined at .*a.yaml:3"):
        load_yaml_dir(tmp_path, CheckSet(), allow_python=False)


def test_a_user_check_may_not_reuse_a_builtin_id(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD.replace("my-icc", "daemon-icc-disabled"))
    with pytest.raises(CheckFileError, match="duplicate check id"):
        load_checks([tmp_path], plugins=False)


def test_yaml_absent_field_semantics():
    def result(extra, inspect_overlay):
        text = f"""
        checks:
          - id: c-x
            title: t
            target: container
            field: HostConfig.Whatever
            op: equals
            value: 1
        {extra}
        """
        (check,) = load(text)
        data = hardened_data()
        for c in data["containers"]["items"]:
            c["inspect"]["HostConfig"].update(inspect_overlay)
        return run_check(check, facts_of(data))

    assert result("", {}).status == Status.ERROR          # unset, and the check does not say what that means
    assert result("    default: 1", {}).status == Status.PASS
    assert result("    when_absent: skip", {}).status == Status.SKIP
    assert result("", {"Whatever": 2}).status == Status.FAIL


def test_builtin_checks_all_load_and_are_unique(checks):
    assert len(checks) >= 70
    for check in checks:
        assert check.title and (check.needs or check.wants) and check.source


def test_a_check_carries_its_description_rationale_and_references():
    (check,) = load("""
    checks:
      - id: site-x
        title: t
        description: >-
          Reads icc.
        rationale: Containers talk.
        references: [https://docs.docker.com/engine/network/]
        target: daemon
        field: icc
        op: equals
        value: false
    """)
    assert (check.description, check.rationale, check.references) == (
        "Reads icc.", "Containers talk.", ("https://docs.docker.com/engine/network/",))
    bad = """
    checks:
      - id: site-x
        title: t
        references: {refs}
        target: daemon
        field: icc
        op: equals
        value: false
    """
    error = error_of(bad.format(refs="https://example.org/a"))
    assert error.field == "references" and "list" in str(error)


def test_a_python_check_is_described_by_its_docstring_unless_told_otherwise():
    from bench.check import check, passed

    @check("site-doc", title="t", rationale="because", references="https://docs.docker.com/")
    def documented(facts):
        """Looks at
        the engine."""
        return passed()

    @check("site-told", title="t", description="Told.")
    def told(facts):
        """Not this."""
        return passed()

    assert documented.description == "Looks at the engine." and documented.rationale == "because"
    assert documented.references == ("https://docs.docker.com/",)
    assert told.description == "Told."
