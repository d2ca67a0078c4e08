"""The README's recipes: each is run by a test (or, where it cannot run here, its files are
checked), and a docs page that shows one shows the README's text exactly."""
import re

import pytest

from recipes import README, REPO, recipes

# The one recipe no test can run here (no Kubernetes): test_kubernetes_manifest.py validates the
# file it applies, and test_image.py runs its container as the pod spec says.
NOT_RUN = {"kubernetes": "tests/test_kubernetes_manifest.py"}
DOCS = sorted((REPO / "docs").rglob("*.md"))


def test_the_readme_shows_every_recipe_the_docs_promise():
    assert {"cron", "ci", "wheels", "image", "container", "ansible", "swarm", "kubernetes"} <= set(recipes(README.read_text()))


def test_every_readme_recipe_is_run_by_a_test():
    sources = "".join(p.read_text() for p in (REPO / "tests").rglob("*.py"))
    for name in recipes(README.read_text()):
        if name in NOT_RUN:
            assert (REPO / NOT_RUN[name]).is_file() and f'recipe("{name}")' in sources
            continue
        ran = f'recipe("{name}")' in sources or re.search(rf'for name in \([^)]*"{name}"', sources)
        assert ran, f"no test runs the README's {name} recipe"


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_a_recipe_shown_in_the_docs_is_the_readmes(page):
    shown, readme = recipes(page.read_text()), recipes(README.read_text())
    for name, text in shown.items():
        assert name in readme, f"{page.name} shows a recipe {name!r} the README does not"
        assert text == readme[name], f"{page.name}'s {name} recipe differs from the README's"


def test_a_recipe_is_one_code_block():
    with pytest.raises(AssertionError, match="2 code blocks"):
        recipes("<!-- recipe:x -->\n```sh\na\n```\n```sh\nb\n```\n<!-- /recipe:x -->\n")
    assert recipes("<!-- recipe:x -->\n```sh\na\n```\n<!-- /recipe:x -->\n") == {"x": "a\n"}
