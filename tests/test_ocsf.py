"""OCSF Compliance Findings (class 2003), validated against the JSON Schema of OCSF 1.8.0 that
ocsf-json-schema generates offline from the schema export it ships."""
from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from bench.reporters.ocsf import OCSF_VERSION, render_ocsf
from consumers import artifact, ocsf_schema
from report_cases import assessment_profile, busy_data, hostile_data, mixed_data, report_for


@pytest.fixture(scope="module")
def validator():
    schema = ocsf_schema(OCSF_VERSION)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def findings_of(text):
    assert text.endswith("\n") and "\n\n" not in text
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def mixed(profile, checks):
    return report_for(mixed_data(), profile, checks)


def test_one_finding_per_recommendation_and_resource(mixed):
    found = findings_of(render_ocsf(mixed))
    keys = [(f["compliance"]["control"], f["resources"][0]["name"], f["resources"][0]["type"]) for f in found]
    assert len(keys) == len(set(keys))
    by = {(f["compliance"]["control"], f["resources"][0]["name"]): f for f in found}
    web = by[("5.4", "web")]
    assert web["class_uid"] == 2003 and web["type_uid"] == 200301 and web["category_uid"] == 2
    assert web["compliance"]["standards"] == ["CIS Docker 1.11.0 Benchmark v1.0.0"]
    assert web["compliance"]["status_code"] == "FAIL" and web["compliance"]["status_id"] == 3
    assert web["compliance"]["checks"][0]["uid"] == "container-not-privileged"
    assert web["resources"][0]["type"] == "Docker Container" and web["status_id"] == 1
    assert web["remediation"]["desc"].startswith("Remove --privileged")
    assert web["severity_id"] == 3 and web["metadata"]["version"] == OCSF_VERSION
    assert by[("5.4", "db")]["compliance"]["status_id"] == 1 and by[("5.4", "db")]["severity_id"] == 1
    daemon = by[("2.1", "hardened")]
    assert daemon["resources"][0]["type"] == "Docker Daemon" and daemon["compliance"]["status_code"] == "FAIL"
    error = by[("1.7", "hardened")]
    assert error["compliance"]["status_id"] == 2 and error["compliance"]["status_code"] == "ERROR"
    warn = by[("2.7", "hardened")]
    assert (warn["compliance"]["status_id"], warn["compliance"]["status"]) == (99, "WARN")


def test_finding_uids_are_stable_and_event_uids_are_not(mixed, profile, checks):
    later = report_for(mixed_data(), profile, checks)
    later.started_at = "2026-12-01T03:00:00+00:00"
    first, second = findings_of(render_ocsf(mixed)), findings_of(render_ocsf(later))
    assert [f["finding_info"]["uid"] for f in first] == [f["finding_info"]["uid"] for f in second]
    assert not {f["metadata"]["uid"] for f in first} & {f["metadata"]["uid"] for f in second}


@pytest.mark.parametrize("case", ["mixed", "hostile", "busy"])
def test_every_finding_validates_against_the_ocsf_schema(case, validator, profile, checks):
    data = {"mixed": mixed_data, "hostile": hostile_data, "busy": busy_data}[case]()
    text = render_ocsf(report_for(data, profile, checks))
    text.encode("utf-8")
    artifact(f"sample-{case}.ocsf.jsonl").write_text(text, encoding="utf-8")
    found = findings_of(text)
    assert found
    errors = [f"{list(e.absolute_path)}: {e.message}" for f in found for e in validator.iter_errors(f)]
    assert errors == []


def test_the_schema_does_catch_a_malformed_finding(validator, mixed):
    """The check can fail: a wrong class, a status out of its enumeration, a field OCSF lacks."""
    good = findings_of(render_ocsf(mixed))[0]
    for change in ({"class_uid": 2004}, {"compliance": dict(good["compliance"], status_id=7)},
                   {"docker_container": "web"}, {"time": "yesterday"}):
        bad = dict(copy.deepcopy(good), **change)
        assert list(validator.iter_errors(bad)), change
    missing = copy.deepcopy(good)
    del missing["finding_info"]
    assert list(validator.iter_errors(missing))


def test_labels_in_metadata_and_the_audit_in_unmapped(mixed, checks, validator):
    found = findings_of(render_ocsf(mixed))
    by = {(f["compliance"]["control"], f["resources"][0]["name"]): f for f in found}
    assert by[("5.4", "web")]["metadata"]["labels"] == ["Scored"]
    assert by[("2.7", "hardened")]["metadata"]["labels"] == ["Not Scored"]
    passed, judged = mixed.score()
    unmapped = {json.dumps(f["unmapped"], sort_keys=True) for f in found}
    assert len(unmapped) == 1                      # the audit as a whole: the same on every line
    audit = found[0]["unmapped"]
    assert audit["daemon_findings"] == mixed.daemon_findings and len(audit["daemon_findings"]) == 3
    assert audit["score"] == {"passed": passed, "judged": judged}
    assert audit["profile"]["edition"] == "1.11.0" and audit["profile"]["labels"] == "scored"

    relabelled = report_for(mixed_data(), assessment_profile(), checks)
    found = findings_of(render_ocsf(relabelled))
    assert [e for f in found for e in validator.iter_errors(f)] == []
    by = {(f["compliance"]["control"], f["resources"][0]["name"]): f for f in found}
    assert by[("5.4", "web")]["metadata"]["labels"] == ["Automated"]
    assert by[("1.3", "hardened")]["metadata"]["labels"] == ["Manual"]
    auto_passed, auto_judged = relabelled.score("Automated")
    assert found[0]["unmapped"]["score"]["automated"] == {"passed": auto_passed, "judged": auto_judged}
