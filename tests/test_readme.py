"""The README's two commands exist and are the ones CI runs; the faults page names real tests."""
import re

from helpers import REPO


def test_readme_commands_exist():
    text = (REPO / "README.md").read_text()
    assert "\n./run-audit " in text and "\n./run-tests " in text
    assert (REPO / "run-audit").stat().st_mode & 0o111 and (REPO / "run-tests").stat().st_mode & 0o111
    assert "./run-tests" in (REPO / ".ci" / "run").read_text()


def test_the_faults_table_names_tests_that_exist():
    """Each `MODULE.py::TEST` (`::TEST`: the module named before it) in the faults table is a test
    defined in that module of tests/, and each bare `MODULE.py` a module there."""
    text = (REPO / "docs" / "faults.md").read_text()
    table = text.split("<!-- faults -->")[1].split("<!-- /faults -->")[0]
    sources = {p: p.read_text() for p in (REPO / "tests").rglob("test_*.py")}
    named = 0
    for row in table.splitlines():
        module = None
        for ref in re.findall(r"`([\w/]*\.py)?(?:::(\w+)(?:\[[^\]]*\])?)?`", row):
            path, test = ref
            if path:
                matches = [p for p in sources if p.as_posix().endswith("/" + path)]
                assert len(matches) == 1, (path, matches)
                module = matches[0]
            if test:
                assert module is not None, row
                assert f"def {test}(" in sources[module], f"{test} is not in {module}"
                named += 1
    assert named >= 20
