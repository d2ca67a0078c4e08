"""The README's two commands exist and are the ones CI runs."""
from helpers import REPO


def test_readme_commands_exist():
    text = (REPO / "README.md").read_text()
    assert "\n./run-audit " in text and "\n./run-tests " in text
    assert (REPO / "run-audit").stat().st_mode & 0o111 and (REPO / "run-tests").stat().st_mode & 0o111
    assert "./run-tests" in (REPO / ".ci" / "run").read_text()
