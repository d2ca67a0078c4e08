"""The README's two commands exist and are the ones CI runs; its crontab line for node_exporter
works as written; the faults page names real tests."""
import re
import shlex
import subprocess
import sys

from consumers import promtool_check
from helpers import FIXTURES, REPO

COLLECTOR = "/var/lib/prometheus/node-exporter"


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


def crontab_lines(path):
    return [line for line in path.read_text().splitlines() if f"-o prometheus:{COLLECTOR}/" in line]


def test_the_readme_crontab_line_writes_the_collector_file_whole(tmp_path):
    """The README's crontab line (the recipes page shows the same), into a stand-in collector
    directory, on recorded facts: the file appears whole, promtool accepts it, cron gets no mail."""
    (line,) = crontab_lines(REPO / "README.md")
    assert crontab_lines(REPO / "docs" / "recipes.md") == [line]
    fields = line.split(None, 5)
    assert len(fields) == 6 and fields[0] == "*/30"
    argv = shlex.split(fields[5])   # after the five time fields
    assert argv[0].endswith("/bin/docker-cis-bench")
    collector = tmp_path / "node-exporter"
    collector.mkdir()
    argv = [sys.executable, "-m", "bench", *[a.replace(COLLECTOR, str(collector)) for a in argv[1:]],
            "--facts", str(FIXTURES / "hardened-host.json")]
    result = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == "", result.stderr
    assert [p.name for p in collector.iterdir()] == ["docker-cis-bench.prom"]
    check = promtool_check((collector / "docker-cis-bench.prom").read_text())
    assert check.returncode == 0, check.stdout + check.stderr
