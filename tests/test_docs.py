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
    assert {DOCS / "recommendations" / f"{p.stem}.md" for p in (REPO / "profiles").glob("*.yaml")} <= set(wanted)
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
    repo, pages = tmp_path / "repo", tmp_path / "recommendations"
    (repo / "profiles").mkdir(parents=True)
    (repo / "checks").symlink_to(REPO / "checks")
    shipped = (REPO / "profiles" / "cis-docker-1.11.0.yaml").read_text()
    (repo / "profiles" / "cis-docker-1.11.0.yaml").write_text(shipped)
    (repo / "profiles" / "cis-docker-1.6.0.yaml").write_text(
        shipped.replace("id: cis-docker-1.11.0", "id: cis-docker-1.6.0")
               .replace("title: CIS Docker 1.11.0 Benchmark v1.0.0", "title: CIS Docker Benchmark v1.6.0")
               .replace("title: Run no privileged containers", "title: Run no | privileged containers"))
    pages.mkdir()
    (pages / "README.md").write_text("# Editions\n\nkept above\n<!-- editions -->\nold\n<!-- /editions -->\nkept below\n")
    wanted = generator.render(pages=pages, repo=repo)
    assert set(wanted) == {pages / "README.md", pages / "cis-docker-1.11.0.md", pages / "cis-docker-1.6.0.md"}
    index = wanted[pages / "README.md"]
    assert index.startswith("# Editions\n\nkept above\n<!-- editions -->\n| Profile") and "old" not in index
    assert index.endswith("<!-- /editions -->\nkept below\n")
    editions = list(table_rows(index, "editions"))[2:]
    assert editions == ["[`cis-docker-1.11.0`](cis-docker-1.11.0.md) (the default)", "[`cis-docker-1.6.0`](cis-docker-1.6.0.md)"]
    page = wanted[pages / "cis-docker-1.6.0.md"]
    assert page.startswith("# CIS Docker Benchmark v1.6.0\n") and "`profiles/cis-docker-1.6.0.yaml`" in page
    assert "| 5.4 | Run no \\| privileged containers | yes | 1 | automated | `container-not-privileged` |" in page


EDITION = """\
id: cis-docker-9.9.0
title: CIS Docker Benchmark v9.9.0
edition: "9.9.0"
published: "2030-01"
labels: assessment
engines: "20.10"
sections:
  "1": Host Configuration
  "5": Container Runtime Configuration
recommendations:
  - id: "1.1.1"
    title: Keep data apart
    assessment: automated
    level: 1
    checks: [host-docker-partition]
    same_as: {cis-docker-1.11.0: "1.1"}
  - id: "5.6"
    title: Mount nothing sensitive
    assessment: manual
    level: 2
    checks: [container-sensitive-mounts]
    params: {container-sensitive-mounts: {directories: "/,/etc"}}
    same_as: {cis-docker-1.11.0: "5.5"}
"""


def test_an_assessment_edition_shows_its_labels_settings_and_ids_in_the_other_editions(generator, tmp_path):
    repo, pages = tmp_path / "repo", tmp_path / "recommendations"
    (repo / "profiles").mkdir(parents=True)
    (repo / "checks").symlink_to(REPO / "checks")
    (repo / "profiles" / "cis-docker-1.11.0.yaml").write_text((REPO / "profiles" / "cis-docker-1.11.0.yaml").read_text())
    (repo / "profiles" / "cis-docker-9.9.0.yaml").write_text(EDITION)
    pages.mkdir()
    (pages / "README.md").write_text("<!-- editions -->\n<!-- /editions -->\n")
    wanted = generator.render(pages=pages, repo=repo)
    page = wanted[pages / "cis-docker-9.9.0.md"]
    assert ("2 recommendations in 2 sections (2 automated); 1 Automated and 1 Manual in the edition's labels, "
            "every one of them counted; 1 at level 1, 1 at level 2.") in page
    rows = table_rows(page, "recommendations-table")
    assert rows["ID"][2] == "Label" and rows["1.1.1"][2] == "Automated"
    assert rows["5.6"][2:6] == ["Manual", "2", "automated", "`container-sensitive-mounts` (directories=/,/etc)"]
    # Ids elsewhere, read both ways: the 1.11.0 page learns them from this edition's same_as.
    mine, _, absent = page.partition("Not in this edition: 81.")
    others = table_rows(mine + "<!-- /other-editions -->", "other-editions")
    assert others["1.1.1"] == ["1.1.1", "1.1"] and others["5.6"] == ["5.6", "5.5"] and "1.2" not in others
    missing = table_rows("<!-- other-editions -->" + absent, "other-editions")
    assert missing["1.2"] == ["1.2", "Run a current Linux kernel (3.10 or newer)"] and "1.1" not in missing
    old = wanted[pages / "cis-docker-1.11.0.md"]
    old_rows = table_rows(old, "other-editions")
    assert old_rows["5.5"] == ["5.5", "5.6"] and old_rows["1.2"] == ["1.2", "–"]
    assert "Not in this edition" not in old and table_rows(old, "recommendations-table")["ID"][2] == "Scored"
    index = table_rows(wanted[pages / "README.md"], "editions")
    assert index["[`cis-docker-9.9.0`](cis-docker-9.9.0.md)"][2:] == [
        "2030-01", "20.10 and later", "Automated / Manual", "2 (2 automated)"]
    assert index["[`cis-docker-1.11.0`](cis-docker-1.11.0.md) (the default)"][2:5] == [
        "2016-04", "1.11", "Scored / Not Scored"]


def test_a_page_without_its_markers_is_refused(generator, tmp_path):
    with pytest.raises(generator.GenerateError, match="needs one <!-- editions --> line"):
        generator.replace_block("no markers here\n", "editions", "x\n", "page.md")
    with pytest.raises(generator.GenerateError):
        generator.replace_block("<!-- /editions -->\n<!-- editions -->\n", "editions", "x\n", "page.md")


def test_a_pipe_stays_inside_its_cell(generator):
    assert generator.cell("a | b\n c") == "a \\| b c"


FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(text):
    """Markdown without its fenced code blocks and code spans, where links and headings are not."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def anchors(text):
    """The heading anchors GitHub makes: lower case, punctuation dropped, spaces to dashes, -1 on repeats."""
    seen = {}
    for line in FENCE.sub("", text).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            yield slug if count == 0 else f"{slug}-{count}"


def test_the_anchors_are_the_ones_github_makes():
    assert list(anchors("# The JSON report (schema version 1)\n## A CI gate\n```\n# code\n```\n## A CI gate\n"
                        "### 1 Host Configuration\n## `--fail-on` and exit status\n")) == [
        "the-json-report-schema-version-1", "a-ci-gate", "a-ci-gate-1", "1-host-configuration",
        "--fail-on-and-exit-status"]


def test_every_link_in_the_readme_and_docs_resolves_and_every_page_is_reachable():
    pages = [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]
    broken, reached, queue = [], {REPO / "README.md"}, [REPO / "README.md"]
    links = {}
    for page in pages:
        links[page] = []
        for target in LINK.findall(prose(page.read_text())):
            if re.match(r"^[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.exists():
                broken.append(f"{page.relative_to(REPO)}: {target} (no such file)")
            elif anchor and (resolved.is_dir() or anchor not in set(anchors(resolved.read_text()))):
                broken.append(f"{page.relative_to(REPO)}: {target} (no such heading)")
            else:
                links[page].append(resolved)
    assert not broken, "\n".join(broken)
    while queue:
        for target in links.get(queue.pop(), []):
            if target not in reached:
                reached.add(target)
                queue.append(target)
    assert not [p for p in pages if p not in reached], "pages no link from the README leads to"


def test_every_table_renders_on_github():
    """Each table starts after a blank line or a marker comment, has its delimiter row, and every
    row has as many cells as its header (a stray | would shift the columns)."""
    bad = []
    for page in [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]:
        lines, width = FENCE.sub("", page.read_text()).splitlines(), None
        for number, line in enumerate(lines, 1):
            if not line.startswith("|"):
                width = None
                continue
            cells = len(re.split(r"(?<!\\)\|", line.strip()[1:-1]))
            if width is None:
                width = cells
                before = lines[number - 2].strip() if number > 1 else ""
                if before and not before.startswith("<!--"):
                    bad.append(f"{page.name}:{number}: no blank line before the table")
                if number >= len(lines) or not re.match(r"^\|(\s*:?-+:?\s*\|)+$", lines[number]):
                    bad.append(f"{page.name}:{number}: no delimiter row under the header")
            elif cells != width:
                bad.append(f"{page.name}:{number}: {cells} cells under a header of {width}")
    assert not bad, "\n".join(bad)


def test_a_check_that_does_not_say_what_it_inspects_stops_the_generator(generator):
    from bench.check import Check

    silent = Check(id="site-silent", title="Says nothing", needs=(), run=lambda facts, params: None, source="x.py:1")
    with pytest.raises(generator.GenerateError, match=r"check 'site-silent' \(x.py:1\) does not say what it inspects"):
        generator.inspects(silent)
