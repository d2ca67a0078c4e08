"""Every format carries the verdicts of the JSON report, and what it says of the audit as a whole.

One audit through the CLI writes every format at once (-o FORMAT:FILE for each); each file is read
back with a parser of its own kind and its verdicts, as (recommendation, resource, status), are
compared with the JSON report's. A recommendation's own verdict has resource "". Each of the
formats other tools read also carries, where it has a place for them, each recommendation's label
(Scored, Not Scored, Automated, Manual), the edition, the score (both scores for an edition
labelled Automated/Manual) and the daemon findings.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.cli import main
from bench.sanitize import printable
from bench.status import FINDINGS, SEVERITY
from consumers import Page
from report_cases import CASES, mixed_data, write_assessment_profile

FORMATS = ("json", "text", "junit", "sarif", "ocsf", "prometheus", "html")
FINDING = {s.value for s in FINDINGS}


def worst(statuses):
    return min(statuses, key=lambda s: [x.value for x in SEVERITY].index(s))


@pytest.fixture(scope="module", params=["mixed", "hostile", "busy", "relabelled"])
def written(request, tmp_path_factory):
    """The relabelled case: the mixed host audited against an edition labelled Automated/Manual."""
    data = CASES.get(request.param, mixed_data)()
    folder = tmp_path_factory.mktemp(request.param)
    facts = folder / "facts.json"
    facts.write_text(json.dumps(data))
    args = ["--facts", str(facts), "--details", "--fail-on", "never"]
    if request.param == "relabelled":
        args += ["--profile", write_assessment_profile(folder)]
    for fmt in FORMATS:
        args += ["-o", f"{fmt}:{folder / ('report.' + fmt)}"]
    assert main(args) == 0
    return {fmt: (folder / f"report.{fmt}").read_text(encoding="utf-8") for fmt in FORMATS}


@pytest.fixture(scope="module")
def expected(written):
    """From the JSON report: each recommendation's status, each resource's, and the verdicts."""
    data = json.loads(written["json"])
    recs = {r["id"]: r["status"] for r in data["results"]}
    items = {(r["id"], i["resource"], i["status"]) for r in data["results"] for i in r["items"]}
    verdicts = set(items)
    for r in data["results"]:
        statuses = [i["status"] for i in r["items"]]
        if not statuses or worst(statuses) != r["status"]:
            verdicts.add((r["id"], "", r["status"]))
    return recs, items, verdicts


def rollup(verdicts):
    """Each recommendation's status from its verdicts: its own, else the worst of its resources'."""
    recs = {}
    for rec_id, resource, status in sorted(verdicts, key=lambda v: v[1] != ""):
        if rec_id not in recs or resource == "" or recs[rec_id][1] != "":
            recs[rec_id] = (worst([recs[rec_id][0], status]) if rec_id in recs and resource != "" else status, resource)
    return {rec_id: status for rec_id, (status, _) in recs.items()}


def test_sarif_carries_every_finding(written, expected):
    recs, _, verdicts = expected
    run = json.loads(written["sarif"])["runs"][0]
    found = {(r["ruleId"], r["properties"]["resource"], r["properties"]["status"]) for r in run["results"]}
    assert found == {v for v in verdicts if v[2] in FINDING}
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == set(recs)
    assert rollup(found) == {i: s for i, s in recs.items() if s in FINDING}


def test_ocsf_carries_every_verdict(written, expected):
    recs, _, verdicts = expected
    found = set()
    for line in written["ocsf"].splitlines():
        finding = json.loads(line)
        resource = finding["resources"][0]
        name = "" if resource["type"] in ("Docker Daemon", "Docker Host") else resource["name"]
        found.add((finding["compliance"]["control"], name, finding["compliance"]["status_code"]))
    assert found == verdicts
    assert rollup(found) == recs


def test_prometheus_carries_every_recommendation_and_resource_counts(written, expected):
    recs, items, _ = expected
    samples = [s for f in text_string_to_metric_families(written["prometheus"]) for s in f.samples]
    assert {s.labels["id"]: s.labels["status"] for s in samples
            if s.name == "docker_cis_bench_recommendation_status"} == recs
    counts = {}
    for rec_id, _, status in items:
        counts[(rec_id, status)] = counts.get((rec_id, status), 0) + 1
    assert {(s.labels["id"], s.labels["status"]): int(s.value) for s in samples
            if s.name == "docker_cis_bench_recommendation_resources"} == counts


def test_html_carries_every_verdict(written, expected):
    recs, items, _ = expected
    page = Page(written["html"])
    assert {a["data-id"]: a["data-status"] for a in page.all("article")} == recs
    rows, current = set(), None
    for tag, attrs in page.tags:
        if tag == "article":
            current = attrs["data-id"]
        elif tag == "tr" and "data-resource" in attrs:
            rows.add((current, attrs["data-resource"], attrs["data-status"]))
    assert rows == {(rec_id, printable(resource), status) for rec_id, resource, status in items}


def test_junit_carries_every_recommendation(written, expected):
    recs, _, _ = expected
    found = {}
    for case in ET.fromstring(written["junit"].encode("utf-8")).iter("testcase"):
        rec_id = case.get("name").split(" ")[0]
        outcome = next((c for c in case if c.tag in ("failure", "error", "skipped")), None)
        if outcome is not None:
            found[rec_id] = outcome.get("type")
        else:
            found[rec_id] = case.find("system-out").text.split(":")[0]
    assert found == recs


def test_text_carries_every_recommendation_and_listed_resource(written, expected):
    recs, items, _ = expected
    text = written["text"]
    found = dict(re.findall(r"^([\w.-]+) +(PASS|FAIL|WARN|INFO|SKIP|ERROR)\b", text, re.M))
    assert found == recs
    if "pwned" in text:
        return  # hostile names are shown escaped and wrapped: their verdicts are checked above
    listed = []
    for block in re.split(r"^(?=[\w.-]+ +(?:PASS|FAIL|WARN|INFO|SKIP|ERROR)\b)", text, flags=re.M)[1:]:
        rec_id = block.split()[0]
        for status, name in re.findall(r"^ +(PASS|FAIL|WARN|INFO|SKIP|ERROR) +(\S+?):?(?: |$)", block, re.M):
            listed.append((rec_id, name, status))
    uniform_skips = {r for r in recs if recs[r] == "SKIP"}
    flagged = [v for v in items if v[2] != "PASS" and v[0] not in uniform_skips]
    # With --details every resource not passing has a line: as many per recommendation and status...
    count = lambda verdicts: sorted((r, s) for r, _, s in verdicts)  # noqa: E731
    assert count(listed) == count(flagged)
    # ... and where a long name wraps onto the next line, its line starts with the name's beginning.
    for rec_id, name, status in listed:
        assert any(r == rec_id and s == status and n.startswith(name) for r, n, s in flagged), name


# -- what the report says of the audit as a whole ----------------------------------------------------------

@pytest.fixture(scope="module")
def audit(written):
    """From the JSON report: labels, profile, score and daemon findings."""
    data = json.loads(written["json"])
    return {"labels": {r["id"]: r["label"] for r in data["results"]}, "profile": data["profile"],
            "score": data["score"], "daemon": (data.get("daemon") or {}).get("findings", []),
            "disagreements": (data.get("daemon") or {}).get("disagreements", [])}


def test_the_audit_is_there_to_compare(audit):
    assert audit["daemon"] and set(audit["labels"].values()) <= {"Scored", "Not Scored", "Automated", "Manual"}
    assert ("automated" in audit["score"]) == (audit["profile"]["labels"] == "assessment")


def test_sarif_carries_labels_profile_score_and_daemon(written, audit):
    run = json.loads(written["sarif"])["runs"][0]
    assert {r["id"]: r["properties"]["cisLabel"] for r in run["tool"]["driver"]["rules"]} == audit["labels"]
    assert run["properties"]["profileInfo"] == audit["profile"]
    assert run["properties"]["score"] == audit["score"]
    assert run["properties"]["daemonFindings"] == audit["daemon"]
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"] if n["level"] == "note"]
    assert len(notes) == len(audit["daemon"]) and all(n.startswith("Daemon: ") for n in notes)


def test_ocsf_carries_labels_profile_score_and_daemon(written, audit):
    labels = {}
    for line in written["ocsf"].splitlines():
        finding = json.loads(line)
        labels.setdefault(finding["compliance"]["control"], set()).update(finding["metadata"]["labels"])
        unmapped = dict(finding["unmapped"])
        # The hint names a better edition when the engine is far newer than the audited one.
        assert "--profile" in unmapped.pop("hint", "--profile")
        assert unmapped == {"profile": audit["profile"], "score": audit["score"], "daemon_findings": audit["daemon"]}
    assert labels == {rec_id: {label} for rec_id, label in audit["labels"].items()}


def test_prometheus_carries_labels_edition_score_and_daemon(written, audit):
    samples = [s for f in text_string_to_metric_families(written["prometheus"]) for s in f.samples]
    assert {s.labels["id"]: s.labels["label"] for s in samples
            if s.name == "docker_cis_bench_recommendation_status"} == audit["labels"]
    single = {s.name: s.value for s in samples if not s.labels}
    assert single["docker_cis_bench_daemon_findings"] == len(audit["daemon"])
    assert single["docker_cis_bench_daemon_disagreements"] == len(audit["disagreements"])
    assert set(audit["disagreements"]) <= set(audit["daemon"])
    score = {"passed": single["docker_cis_bench_score_passed_recommendations"],
             "judged": single["docker_cis_bench_score_judged_recommendations"]}
    if "docker_cis_bench_score_automated_judged_recommendations" in single:
        score["automated"] = {"passed": single["docker_cis_bench_score_automated_passed_recommendations"],
                              "judged": single["docker_cis_bench_score_automated_judged_recommendations"]}
    assert score == audit["score"]
    info = next(s.labels for s in samples if s.name == "docker_cis_bench_report_info")
    assert (info["profile"], info["edition"], info["labels"]) == \
        (audit["profile"]["id"], audit["profile"]["edition"], audit["profile"]["labels"])


def test_html_carries_labels_edition_score_and_daemon(written, audit):
    import html

    page = Page(written["html"])
    assert {a["data-id"]: a["data-label"] for a in page.all("article")} == audit["labels"]
    edition = page.all("p", id="edition")[0]
    assert (edition["data-edition"], edition["data-labels"]) == (audit["profile"]["edition"], audit["profile"]["labels"])
    score = page.all("div", id="score")[0]
    assert {"passed": int(score["data-passed"]), "judged": int(score["data-judged"])} == \
        {k: audit["score"][k] for k in ("passed", "judged")}
    automated = page.all("div", id="score-automated")
    assert [{"passed": int(a["data-passed"]), "judged": int(a["data-judged"])} for a in automated] == \
        ([audit["score"]["automated"]] if "automated" in audit["score"] else [])
    shown = [html.unescape(t) for t in re.findall(r'<li class="daemon-finding">(.*?)</li>', written["html"], re.S)]
    assert shown == [printable(f) for f in audit["daemon"]]


def test_text_carries_the_daemon_and_the_score(written, audit):
    text = " ".join(written["text"].split())   # lines joined where the layout wrapped them
    for finding in audit["daemon"]:
        assert f"Daemon: {' '.join(printable(finding).split())}" in text
    score = audit["score"]
    assert f"Score: {score['passed']} of {score['judged']} judged" in text
    if "automated" in score:
        assert f"labels Automated: {score['automated']['passed']} of {score['automated']['judged']}" in text
