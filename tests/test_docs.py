"""The reference pages under docs/: the generated tables match the profiles and checks they describe."""
import importlib.util
import re

import pytest

from helpers import REPO

DOCS = REPO / "docs"


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_rows(text, marker):
    """Rows of the Markdown tables between <!-- marker --> and <!-- /marker -->, by first cell."""
    block = text.split(f"<!-- {marker} -->")[1].split(f"<!-- /{marker} -->")[0]
    rows = {}
    for line in block.splitlines():
        if line.startswith("|"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
            rows[cells[0]] = cells
    return rows


def test_generated_pages_are_what_the_generator_writes(generator):
    wanted = generator.render()
    assert DOCS / "recommendations" / "cis-docker-1.11.0.md" in wanted
    for path, text in wanted.items():
        assert path.read_text() == text, f"{path.relative_to(REPO)} is out of date: run docs/generate.py"
    assert generator.stale() == []


def test_recommendations_page_lists_every_recommendation_with_its_automation(profile):
    text = (DOCS / "recommendations" / "cis-docker-1.11.0.md").read_text()
    rows = {k: v for k, v in table_rows(text, "recommendations-table").items() if re.match(r"^\d+\.\d+$", k)}
    assert len(rows) == 83
    for rec in profile.recommendations:
        row = rows[rec.id]
        assert row[1] == rec.title and row[2] == ("yes" if rec.scored else "no") and row[3] == str(rec.level), rec.id
        assert row[4] == rec.automation, rec.id
        assert all(f"`{c}`" in row[5] for c in rec.checks), rec.id
        assert row[6], rec.id


def test_the_index_links_every_edition_page(generator):
    text = (DOCS / "recommendations" / "README.md").read_text()
    rows = table_rows(text, "editions")
    for path in (REPO / "profiles").glob("*.yaml"):
        assert f"[`{path.stem}`]({path.stem}.md)" in " ".join(rows), path.stem
        assert (DOCS / "recommendations" / f"{path.stem}.md").exists()


def test_a_new_profile_gets_a_page_and_hand_written_prose_is_kept(generator, tmp_path):
    pages = tmp_path / "recommendations"
    pages.mkdir()
    (pages / "README.md").write_text("# Editions\n\nkept above\n<!-- editions -->\nold\n<!-- /editions -->\nkept below\n")
    wanted = generator.render(pages=pages)
    index = wanted[pages / "README.md"]
    assert index.startswith("# Editions\n\nkept above\n<!-- editions -->\n| Profile") and "old" not in index
    assert index.endswith("<!-- /editions -->\nkept below\n")
    page = wanted[pages / "cis-docker-1.11.0.md"]
    assert page.startswith("# CIS Docker 1.11.0 Benchmark v1.0.0\n")
    assert "| 5.4 | Run no privileged containers | yes | 1 | automated | `container-not-privileged` |" in page


def test_a_page_without_its_markers_is_refused(generator, tmp_path):
    with pytest.raises(generator.GenerateError, match="needs one <!-- editions --> line"):
        generator.replace_block("no markers here\n", "editions", "x\n", "page.md")
    with pytest.raises(generator.GenerateError):
        generator.replace_block("<!-- /editions -->\n<!-- editions -->\n", "editions", "x\n", "page.md")


def test_a_pipe_stays_inside_its_cell(generator):
    assert generator.cell("a | b\n c") == "a \\| b c"
