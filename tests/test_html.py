"""The HTML report: one self-contained file, hostile strings inert, and, in a real browser (headless
Chromium from a file:// URL), rendered without console errors with working filters; a screenshot at
1280x800 is kept in tests/artifacts/html-report-1280x800.png."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from bench.cli import main
from bench.reporters.html import asset, render_fleet_html, render_html
from consumers import OUR_TAGS, Page, artifact, chromium
from report_cases import (assessment_profile, audited_hosts, busy_data, hostile_data, mixed_data, report_for,
                          write_assessment_profile)

@pytest.fixture(scope="module")
def mixed(profile, checks):
    return report_for(mixed_data(), profile, checks)


def test_summary_score_chart_every_recommendation_and_its_resources(mixed):
    page = Page(render_html(mixed))
    score = page.all("div", id="score")[0]
    assert (int(score["data-passed"]), int(score["data-judged"])) == mixed.score()
    counts = {a["data-status"]: int(a["data-count"]) for a in page.all("li") if "data-count" in a}
    assert counts == mixed.summary()
    assert len(page.all("rect")) >= 6 and {a["data-section"] for a in page.all("tr") if "data-section" in a} == \
        set(mixed.sections)
    recs = page.all("article")
    assert [(a["data-id"], a["data-status"]) for a in recs] == [(r.id, r.status.value) for r in mixed.results]
    web = next(a for a in page.all("tr") if a.get("data-resource") == "web" and a.get("data-status") == "FAIL")
    assert web
    assert {a["value"] for a in page.all("input", name="status")} == {"PASS", "FAIL", "WARN", "INFO", "SKIP", "ERROR", "WAIVED"}
    text = render_html(mixed)
    assert "Remove --privileged; grant the specific capabilities" in text   # the remediation at hand


def test_self_contained_and_pinned_by_its_content_security_policy(mixed):
    text = render_html(mixed)
    page = Page(text)
    assert not page.all("link") and not page.all("img") and not page.all("iframe")
    assert all("src" not in attrs and "href" not in attrs for _, attrs in page.tags)
    assert "http://" not in text and "https://" not in text and "@import" not in text and "url(" not in text
    csp = page.all("meta", **{"http-equiv": "Content-Security-Policy"})[0]["content"]
    assert "default-src 'none'" in csp and asset("report.js")[1] in csp and asset("report.css")[1] in csp
    assert page.scripts == [asset("report.js")[0]]


def test_hostile_strings_stay_inert(profile, checks):
    report = report_for(hostile_data(), profile, checks)
    text = render_html(report)
    text.encode("utf-8")
    page = Page(text)
    assert {tag for tag, _ in page.tags} <= OUR_TAGS
    assert len(page.all("script")) == 1 and page.scripts == [asset("report.js")[0]]
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]
    assert "\x1b" not in text and "\u202e" not in text and "\x00" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "{{7*7}}" in text    # shown, as text
    resources = [a["data-resource"] for a in page.all("tr") if "data-resource" in a]
    assert any(r.startswith("web\\x1b]0;pwned\\x07") and "<script>" in r for r in resources)




def texts(text, cls):
    """The text of each element of a class (the page's own markup: no nesting inside them)."""
    import html
    import re

    return [html.unescape(t) for t in re.findall(rf'<li class="{cls}">(.*?)</li>', text, re.S)]


def test_the_daemon_the_edition_the_labels_and_the_score(mixed):
    text = render_html(mixed)
    page = Page(text)
    assert len(page.all("section", id="daemon")) == 1
    assert texts(text, "daemon-finding") == mixed.daemon_findings and len(mixed.daemon_findings) == 3
    edition = page.all("p", id="edition")[0]
    assert (edition["data-edition"], edition["data-labels"]) == ("1.11.0", "scored")
    assert "Scored or Not Scored" in text and not page.all("div", id="score-automated")
    labels = {a["data-id"]: a["data-label"] for a in page.all("article")}
    assert labels == {r.id: r.label for r in mixed.results} and labels["2.7"] == "Not Scored"
    assert not page.all("p", id="hint")


def test_an_edition_labelled_automated_or_manual_shows_both_scores(checks):
    report = report_for(mixed_data(), assessment_profile(), checks)
    report.hint = "Engine 28.5.1 is far newer than <b>this</b> edition was written for"
    text = render_html(report)
    page = Page(text)
    assert page.all("p", id="edition")[0]["data-labels"] == "assessment" and "Automated or Manual" in text
    score, automated = page.all("div", id="score")[0], page.all("div", id="score-automated")[0]
    assert (int(score["data-passed"]), int(score["data-judged"])) == report.score()
    assert (int(automated["data-passed"]), int(automated["data-judged"])) == report.score("Automated")
    labels = {a["data-id"]: a["data-label"] for a in page.all("article")}
    assert labels["5.4"] == "Automated" and labels["1.3"] == "Manual"
    assert page.all("p", id="hint") and "&lt;b&gt;this&lt;/b&gt;" in text   # shown, as text


def test_merged_fleet_report_as_html(tmp_path, capsys):
    reports = audited_hosts(tmp_path, {"alpha": mixed_data(), "beta": hostile_data()})
    reports += audited_hosts(tmp_path, {"gamma": mixed_data()}, write_assessment_profile(tmp_path))
    capsys.readouterr()
    out = tmp_path / "fleet.html"
    assert main(["merge", *reports, "-o", f"html:{out}", "-o", f"json:{tmp_path / 'fleet.json'}"]) == 0
    fleet = json.loads((tmp_path / "fleet.json").read_text())
    page = Page(out.read_text())
    hosts = {a["data-host"]: a for a in page.all("tr") if "data-host" in a}
    for host in fleet["hosts"]:
        row = hosts[host["hostname"]]
        assert {s: int(row[f"data-{s.lower()}"]) for s in host["summary"]} == host["summary"]
    (auto,) = page.all("span", **{"class": "auto"})      # the one host audited against an Automated/Manual edition
    gamma = next(h for h in fleet["hosts"] if h["hostname"] == "gamma")
    assert {"passed": int(auto["data-passed"]), "judged": int(auto["data-judged"])} == gamma["score"]["automated"]
    ranked = [(a["data-id"], int(a["data-fail"]), int(a["data-error"]), int(a["data-warn"]))
              for a in page.all("tr") if a.get("class") == "rank"]
    assert ranked == [(r["id"], r["failing_hosts"], r["error_hosts"], r["warning_hosts"])
                      for r in fleet["recommendations"]]


def test_an_empty_fleet_page_renders():
    from bench.merge import Fleet

    assert "No recommendation fails on any host." in render_fleet_html(Fleet())


# -- in a real browser --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    binary, driver_path = chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    profile_dir = tempfile.mkdtemp(prefix="bench-chromium-")
    # As root Chromium needs --no-sandbox; the other flags keep it off this machine's closed network.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", f"--user-data-dir={profile_dir}", "--window-size=1280,800"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    yield driver
    driver.quit()
    shutil.rmtree(profile_dir, ignore_errors=True)


def shown(driver):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('article.rec')).filter(e => !e.hidden && e.offsetParent !== null)"
        ".map(e => [e.dataset.id, e.dataset.status, e.dataset.section, e.dataset.level]);")


def test_the_page_renders_in_chromium_and_its_filters_work(browser, profile, checks):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    report = report_for(busy_data(), profile, checks)
    path = artifact("sample-busy.html")
    path.write_text(render_html(report), encoding="utf-8")
    browser.get(Path(path).resolve().as_uri())
    assert browser.title.startswith("busy-host")
    assert browser.get_log("browser") == []           # no console error: no CSP violation, no script error
    assert len(shown(browser)) == 83
    browser.save_screenshot(str(artifact("html-report-1280x800.png")))

    browser.find_element(By.CSS_SELECTOR, "input[name=status][value=PASS]").click()
    after = shown(browser)
    assert after and all(status != "PASS" for _, status, _, _ in after)
    assert len(after) == 83 - report.summary()["PASS"]
    Select(browser.find_element(By.NAME, "section")).select_by_value("5")
    assert {section for _, _, section, _ in shown(browser)} == {"5"}
    assert browser.find_element(By.ID, "shown").text == str(len(shown(browser)))
    Select(browser.find_element(By.NAME, "level")).select_by_value("2")
    assert {(s, lvl) for _, _, s, lvl in shown(browser)} <= {("5", "2")}
    expected = {r.id for r in report.results if r.section == "5" and r.level == 2 and r.status.value != "PASS"}
    assert {rec_id for rec_id, _, _, _ in shown(browser)} == expected
    hidden_sections = browser.execute_script(
        "return Array.from(document.querySelectorAll('section.sec')).filter(s => s.hidden).length")
    assert hidden_sections == len(report.sections) - 1
    assert browser.get_log("browser") == []


def test_hostile_page_runs_nothing_but_its_own_script(browser, profile, checks):
    path = artifact("sample-hostile.html")
    path.write_text(render_html(report_for(hostile_data(), profile, checks)), encoding="utf-8")
    browser.get(Path(path).resolve().as_uri())
    assert browser.execute_script("return document.querySelectorAll('script').length") == 1
    assert browser.execute_script("return document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert browser.get_log("browser") == []
    assert len(shown(browser)) == 83


def test_an_edition_labelled_automated_or_manual_renders_in_chromium(browser, checks):
    report = report_for(mixed_data(), assessment_profile(), checks)
    report.hint = "Engine 28.5.1 is far newer than this edition was written for"
    path = artifact("sample-relabelled.html")
    path.write_text(render_html(report), encoding="utf-8")
    browser.get(Path(path).resolve().as_uri())
    assert browser.get_log("browser") == []
    shown_text = browser.find_element("id", "score-automated").text
    passed, judged = report.score("Automated")
    assert f"{passed} of {judged} judged recommendations the edition labels Automated pass" in shown_text
    assert browser.find_element("id", "daemon").is_displayed()
    browser.save_screenshot(str(artifact("html-report-relabelled-1280x800.png")))


def test_the_browser_check_does_see_a_blocked_script(browser, mixed, tmp_path):
    """The check can fail: a script the policy does not pin is refused, and the console says so."""
    page = tmp_path / "tampered.html"
    page.write_text(render_html(mixed).replace("</body>", "<script>document.title = 'ran';</script></body>"))
    browser.get(page.as_uri())
    assert browser.title != "ran"
    logs = browser.get_log("browser")
    assert any(entry["level"] == "SEVERE" and "Content Security Policy" in entry["message"] for entry in logs), logs
