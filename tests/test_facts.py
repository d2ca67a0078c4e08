"""Facts: a JSON round-trip, and a loader that accepts a facts file or raises FactsError."""
import json

import pytest

from bench.facts import SCHEMA_VERSION, Facts
from bench.facts_file import FactsError, facts_from_data, facts_from_json, facts_to_json
from bench.serde import to_data
from helpers import FIXTURES, hardened_data


def test_round_trip_is_lossless():
    facts = facts_from_data(hardened_data())
    again = facts_from_json(facts_to_json(facts))
    assert to_data(again) == to_data(facts)
    assert again.containers.items[1].inspect["HostConfig"]["Memory"] == 268435456


def test_a_fresh_facts_object_has_collected_nothing():
    facts = Facts()
    for group in ("host", "daemon", "engine", "files", "containers", "images", "mounts", "audit",
                  "docker_group", "processes", "execs", "swarm"):
        assert facts.group(group).error, group  # never a silent, empty "fact"


def test_missing_groups_load_as_not_collected():
    data = hardened_data()
    del data["audit"]
    assert facts_from_data(data).audit.error


@pytest.mark.parametrize("text,message", [
    ("", "not valid JSON"),
    ('{"schema_version": 1, "host": {', "not valid JSON"),
    ("[]", "JSON object"),
    ('{"host": {}}', "no integer schema_version"),
    ('{"schema_version": "1"}', "no integer schema_version"),
    (f'{{"schema_version": {SCHEMA_VERSION + 1}}}', "newer than this auditor reads"),
    ('{"schema_version": 0}', "not supported"),
    ('{"schema_version": 1, "host": {"hostname": 5}}', "$.host.hostname: expected a string"),
    ('{"schema_version": 1, "daemon": {"argv": "dockerd"}}', "$.daemon.argv: expected a list"),
    ('{"schema_version": 1, "containers": {"items": [{"id": "x"}]}}', "missing field 'name'"),
    ('{"schema_version": 1, "surprise": 1}', "unknown field 'surprise'"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
])
def test_bad_facts_raise_facts_error(text, message):
    with pytest.raises(FactsError) as info:
        facts_from_json(text)
    assert message in str(info.value)


def test_truncated_recording_is_refused():
    text = facts_to_json(facts_from_data(hardened_data()))
    with pytest.raises(FactsError):
        facts_from_json(text[: len(text) // 2])


def test_inspect_data_must_be_json_data():
    data = hardened_data()
    data["containers"]["items"][0]["inspect"] = {"a": {"b": [1, 2.5, None, True, "x"]}}
    assert facts_from_data(json.loads(json.dumps(data))).containers.items[0].inspect["a"]["b"][1] == 2.5


def test_a_facts_file_recorded_by_release_0_1_0_stays_readable():
    # recorded-0.1.0.json is frozen: the hardened host as release 0.1.0 recorded it, with fields
    # this release retired (auditor_uid, FileFacts.content, the fstab type and options).
    path = FIXTURES / "recorded-0.1.0.json"
    raw = json.loads(path.read_text())
    assert "auditor_uid" in raw["host"] and "vfstype" in raw["mounts"]["fstab"][0]
    facts = facts_from_json(path.read_text())
    assert facts.host.hostname == raw["host"]["hostname"]
    again = json.loads(facts_to_json(facts))
    assert "auditor_uid" not in again["host"] and "vfstype" not in again["mounts"]["fstab"][0]
