"""The README's table of recommendations matches the profile it documents."""
import re

from helpers import REPO


def test_readme_lists_every_recommendation_with_its_automation(profile):
    text = (REPO / "README.md").read_text()
    table = text.split("<!-- recommendations-table -->")[1].split("<!-- /recommendations-table -->")[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and re.match(r"^\d+\.\d+$", cells[0]):
            rows[cells[0]] = cells
    assert len(rows) == 83
    for rec in profile.recommendations:
        row = rows[rec.id]
        assert row[2] == ("yes" if rec.scored else "no") and row[3] == str(rec.level), rec.id
        assert row[4] == rec.automation, rec.id
        assert all(f"`{c}`" in row[5] for c in rec.checks), rec.id


def test_readme_commands_exist():
    text = (REPO / "README.md").read_text()
    assert "\n./run-audit " in text and "\n./run-tests " in text
    assert (REPO / "run-audit").stat().st_mode & 0o111 and (REPO / "run-tests").stat().st_mode & 0o111
    assert "./run-tests" in (REPO / ".ci" / "run").read_text()
