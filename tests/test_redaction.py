"""Secrets stay on the host: inspect data keeps names and drops values that carry credentials."""
import json

from bench.facts import ContainerFacts, Facts
from bench.facts_file import facts_to_json
from bench.redact import REDACTED, redact_inspect, redact_volume

INSPECT = {
    "Id": "abc", "Path": "/app/run", "Args": ["--db-password", "hunter2"],
    "Config": {"Env": ["DB_PASSWORD=hunter2", "PATH=/usr/bin", "EMPTY"], "Cmd": ["/app/run", "--token=s3cr3t"],
               "Entrypoint": "/entry --key s3cr3t", "Labels": {"com.example.api-key": "s3cr3t"},
               "Healthcheck": {"Test": ["CMD-SHELL", "curl -u admin:hunter2 localhost"]}, "User": "app"},
    "HostConfig": {"LogConfig": {"Type": "splunk", "Config": {"splunk-token": "s3cr3t"}}, "Privileged": False},
    "GraphDriver": {"Data": {"UpperDir": "/var/lib/docker/overlay2/x/diff"}},
    "State": {"Running": True, "Health": {"Status": "unhealthy", "FailingStreak": 1, "Log": [
        {"Start": "2026-11-30T10:00:00Z", "ExitCode": 1, "Output": "auth failed for admin:hunter2"}]}},
}


def test_values_are_redacted_and_names_kept():
    data = redact_inspect(INSPECT)
    text = json.dumps(data)
    assert "hunter2" not in text and "s3cr3t" not in text
    assert data["Config"]["Env"] == [f"DB_PASSWORD={REDACTED}", f"PATH={REDACTED}", "EMPTY"]
    assert data["Config"]["Labels"] == {"com.example.api-key": REDACTED}
    assert data["Config"]["Cmd"] == ["/app/run", REDACTED]
    assert data["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", REDACTED]
    assert data["HostConfig"]["LogConfig"] == {"Type": "splunk", "Config": {"splunk-token": REDACTED}}
    assert data["Config"]["User"] == "app" and data["HostConfig"]["Privileged"] is False
    assert "GraphDriver" not in data
    assert data["State"]["Health"]["Log"] == [{"Start": "2026-11-30T10:00:00Z", "ExitCode": 1}]
    assert data["State"]["Health"]["Status"] == "unhealthy"
    assert INSPECT["Config"]["Env"][0] == "DB_PASSWORD=hunter2"  # the input is not modified


def test_recorded_facts_do_not_carry_secrets():
    facts = Facts()
    facts.containers.items = [ContainerFacts(id="abc", name="app", inspect=redact_inspect(INSPECT))]
    assert "hunter2" not in facts_to_json(facts) and "s3cr3t" not in facts_to_json(facts)


def test_volume_options_keep_what_is_mounted_and_drop_credentials():
    bind = {"Name": "vetc", "Driver": "local", "Options": {"type": "none", "o": "bind", "device": "/etc"}}
    assert redact_volume(bind) == bind
    cifs = {"Name": "share", "Options": {"type": "cifs", "device": "//nas/share",
                                         "o": "addr=nas,username=u,password=hunter2,vers=3.0", "Token": "t0k"}}
    cleaned = redact_volume(cifs)["Options"]
    assert cleaned["o"] == f"addr=nas,username=u,password={REDACTED},vers=3.0"
    assert cleaned["Token"] == REDACTED and cleaned["device"] == "//nas/share"
    assert "hunter2" not in json.dumps(cleaned)
