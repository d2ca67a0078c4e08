"""The text report fits the terminal it is shown in: its width, or 100 columns.

On recorded facts of a host with 100 containers (some with very long names) and of a host full of
hostile strings; and, for real, the CLI in tmux at 80 and 120 columns, whose screens are kept in
tests/artifacts/ (text-80-columns.txt, text-120-columns.txt).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest

from bench.reporters.text import render_text, width_of, wrap
from bench.status import Status
from consumers import artifact, tmux
from helpers import REPO
from report_cases import assessment_profile, busy_data, hostile_data, mixed_data, report_for

SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def busy(profile, checks):
    return report_for(busy_data(), profile, checks)


def widest(text: str) -> int:
    return max(width_of(SGR.sub("", line)) for line in text.splitlines())


@pytest.mark.parametrize("width", [40, 80, 100, 120, 200])
@pytest.mark.parametrize("details", [False, True])
def test_every_line_fits_the_width(busy, width, details):
    text = render_text(busy, width=width, wide=details, remediation=True, colour=True)
    assert widest(text) <= width


@pytest.mark.parametrize("width", [40, 80, 120])
def test_the_daemon_lines_both_scores_and_the_hint_fit_too(checks, width):
    report = report_for(mixed_data(), assessment_profile(), checks)
    report.hint = "Engine 28.5.1 is far newer than CIS Docker 1.11.0 Benchmark v1.0.0 was written for: --profile x"
    text = render_text(report, width=width)
    assert widest(text) <= width
    joined = " ".join(text.split())
    assert all(f"Daemon: {' '.join(f.split())}" in joined for f in report.daemon_findings)
    assert "of those it labels Automated" in joined and report.hint in joined


def test_offenders_are_summarised_with_a_count_and_the_rest_counted(busy):
    text = render_text(busy, width=100)   # details under titles: the summary reads as one text
    block = text.split("\n5.4 ")[1].split("\n5.5 ")[0]
    assert "97 of 100 containers" in block
    summary = re.search(r"97 containers: (.*?), … and (\d+) more", " ".join(block.split()))
    assert summary, block
    shown = summary.group(1).split(", ")
    assert len(shown) + int(summary.group(2)) == 97 and len(shown) >= 2
    assert "--details lists every resource" in text


def test_details_lists_every_offender_on_a_line_of_its_own(busy):
    text = render_text(busy, width=80, wide=True)
    block = text.split("\n5.4 ")[1].split("\n5.5 ")[0]
    privileged = [c["name"] for c in busy_data()["containers"]["items"] if c["inspect"]["HostConfig"]["Privileged"]]
    item_lines = [line for line in block.splitlines() if line.startswith("      FAIL ")]
    assert len(item_lines) == len(privileged) == 97
    joined = " ".join(block.split())
    for name in privileged:  # long names wrap over lines, but every one is there in full
        assert name in joined.replace(" -", "-") or name in joined
    assert "… and" not in block and "[cut]" not in text


def test_long_names_wrap_and_nothing_is_cut_without_saying_so(profile, checks):
    report = report_for(hostile_data(), profile, checks)
    text = render_text(report, width=80)
    assert widest(text) <= 80
    assert "… [cut]" in text       # the 5,000-character mount source
    full = render_text(report, width=80, wide=True)
    assert "[cut]" not in full and widest(full) <= 80
    assert "A" * 1500 in "".join(line.strip() for line in full.splitlines())


def test_stacked_when_narrow_columns_when_wide(busy):
    narrow = render_text(busy, width=80).splitlines()
    wide = render_text(busy, width=120).splitlines()
    assert "ID    Status  Recommendation and details" in narrow
    header = next(line for line in wide if line.startswith("ID "))
    assert header.split() == ["ID", "Status", "Recommendation", "Details"]
    row = next(line for line in wide if line.startswith("5.10 "))
    assert "Limit the memory a container may use" in row and "34 of 100 containers" in row


def test_wrap_counts_display_cells_and_splits_only_overlong_words():
    assert wrap("alpha beta gamma", 11) == ["alpha beta", "gamma"]
    assert wrap("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert wrap("容器容器容器 name", 8, "  ") == ["容器容器", "  容器", "  name"]
    assert all(width_of(line) <= 8 for line in wrap("東京の容器 " * 5, 8))


def test_colour_does_not_move_columns(busy):
    plain = render_text(busy, width=100).splitlines()
    coloured = [SGR.sub("", line) for line in render_text(busy, width=100, colour=True).splitlines()]
    assert plain == coloured


def test_statuses_and_ids_are_all_there(busy):
    text = render_text(busy, width=80)
    for result in busy.results:
        assert re.search(rf"^{re.escape(result.id)} +{result.status.value}\b", text, re.M), result.id
    assert f"FAIL {busy.summary()[Status.FAIL.value]}" in text


# -- the real CLI in a real terminal ----------------------------------------------------------------

def screen(tmp_path, columns: int, args: list[str]) -> str:
    """Run the CLI in a tmux pane of `columns` columns and return everything it showed."""
    binary = tmux()
    socket = tmp_path / f"tmux-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "tmux.conf"
    config.write_text("set -g history-limit 50000\nset -g status off\n")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX", "NO_COLOR")}
    env["PYTHONPATH"] = str(REPO)
    command = " ".join([sys.executable, "-m", "bench", *args]) + "; echo __END__; sleep 30"
    base = [binary, "-S", str(socket), "-f", str(config)]
    subprocess.run([*base, "new-session", "-d", "-x", str(columns), "-y", "40", "-c", str(tmp_path), command],
                   check=True, env=env, timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            shown = subprocess.run([*base, "capture-pane", "-p", "-S", "-", "-E", "-"], capture_output=True,
                                   text=True, check=True).stdout
            if "__END__" in shown or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        joined = subprocess.run([*base, "capture-pane", "-p", "-J", "-S", "-", "-E", "-"], capture_output=True,
                                text=True, check=True).stdout
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True, timeout=30)
    assert "__END__" in shown, shown[-2000:]
    # -J joins lines the terminal wrapped: the same screen either way means nothing was wrapped.
    assert joined.rstrip("\n").splitlines() == shown.rstrip("\n").splitlines(), "a line was wider than the pane"
    return shown.split("__END__")[0].rstrip("\n") + "\n"


@pytest.mark.parametrize("columns", [80, 120])
def test_the_cli_fits_a_real_terminal(tmp_path, columns):
    facts = tmp_path / "busy-host.json"
    facts.write_text(json.dumps(busy_data()))
    shown = screen(tmp_path, columns, ["--facts", facts.name, "--remediation"])
    artifact(f"text-{columns}-columns.txt").write_text(shown)
    lines = shown.splitlines()
    assert max(width_of(line) for line in lines) <= columns
    assert sum(1 for line in lines if re.match(r"^\d\.\d+ +[A-Z]{4,5}\b", line)) == 83
    assert re.search(r"97 containers: .*", shown) and re.search(r"… and \d+ more", shown)
    assert "Score: " in lines[-1] or any(line.startswith("Score: ") for line in lines)
    details = screen(tmp_path, columns, ["--facts", facts.name, "--details", "--check", "5.4"])
    artifact(f"text-{columns}-columns-details.txt").write_text(details)
    assert sum(1 for line in details.splitlines() if line.lstrip().startswith("FAIL ")) == 97
