"""The daemon view: one place that knows the daemon, computed once from raw facts."""
import json

import pytest

from bench.daemon.listeners import api_sockets, declared_sockets, listen_streams
from bench.daemon.view import build_view, daemon_view
from bench.facts import Listener
from helpers import apply_case, facts_of, hardened_data, run_main, write_facts


def view_of(case):
    return build_view(facts_of(apply_case(hardened_data(), case)))


def test_a_setting_the_api_reports_is_the_running_daemons_and_says_where_it_came_from():
    value = view_of({}).value("log-driver")
    assert value.observed and value.value == "syslog" and not value.conflict
    assert "docker info LoggingDriver" in value.source and "daemon.json" in value.source


def test_a_daemon_json_edited_since_start_disagrees_and_never_passes():
    value = view_of({"running": "as_before", "daemon_json": {"log-driver": "json-file"}}).value("log-driver")
    assert value.value == "syslog" and "disagrees with the running daemon" in value.conflict
    assert value.verdict(True, "ok").status.value == "WARN"
    assert value.verdict(False, "bad").status.value == "FAIL"


def test_a_setting_the_api_does_not_report_comes_from_the_files_with_a_doubt_when_they_changed():
    fresh = view_of({}).value("default-ulimits")
    assert not fresh.observed and fresh.declared is not None and not fresh.caveat
    edited = view_of({"facts": {"daemon": {"config_mtime": 1764000000.0 + 3600}}}).value("default-ulimits")
    assert "after dockerd started" in edited.caveat and edited.verdict(True, "ok").status.value == "WARN"
    # A flag cannot change after the daemon started: no doubt on it.
    flagged = view_of({"argv": ["/usr/bin/dockerd", "--default-ulimit", "nofile=1024:4096"],
                       "daemon_json": {"default-ulimits": "__delete__"},
                       "facts": {"daemon": {"config_mtime": 1764000000.0 + 3600}}}).value("default-ulimits")
    assert not flagged.caveat


def test_an_unreadable_configuration_leaves_what_the_api_reports_and_errors_the_rest():
    view = view_of({"daemon_json_text": '{"icc": false,'})
    assert view.value("icc").observed and "cannot be read" in view.value("icc").caveat
    assert view.value("iptables").error and "invalid JSON" in view.value("iptables").error


def test_a_remote_engine_is_judged_from_its_api_and_skips_the_rest():
    view = view_of({"facts": {"daemon": {"error": None, "skipped": "the Docker engine at ssh://h is not on this host"}}})
    assert view.value("log-driver").observed and not view.value("log-driver").caveat
    assert view.value("iptables").verdict(True, "").status.value == "SKIP"


def test_the_daemons_own_sockets_are_not_the_api():
    observed = [Listener("unix", "/run/docker.sock"), Listener("unix", "/var/run/docker/metrics.sock"),
                Listener("unix", "/var/run/docker/libnetwork/0a1b.sock"), Listener("unix", "@abstract"),
                Listener("tcp", "0.0.0.0:2377"), Listener("tcp", "0.0.0.0:7946"), Listener("tcp", "127.0.0.1:9323"),
                Listener("tcp", "0.0.0.0:2376")]
    api, aside = api_sockets(observed, ["/var/run/docker", "/var/lib/docker"], "127.0.0.1:9323", swarm_active=True)
    assert [(a.kind, a.address) for a in api] == [("unix", "/run/docker.sock"), ("tcp", "0.0.0.0:2376")]
    assert len(aside) == 6
    # Out of swarm mode, 2377 is nobody's but the API's.
    api, _ = api_sockets([Listener("tcp", "0.0.0.0:2377")], [], "", swarm_active=False)
    assert [a.address for a in api] == ["0.0.0.0:2377"]


def test_socket_activation_is_declared_by_the_units_listen_streams():
    unit = "[Unit]\nListenStream=/not/this\n[Socket]\nListenStream=/run/docker.sock\nListenStream=2375\n"
    assert listen_streams(unit) == ["/run/docker.sock", "2375"]
    assert listen_streams("[Socket]\nListenStream=/a\nListenStream=\nListenStream=/b\n") == ["/b"]
    declared = declared_sockets(["fd://"], listen_streams(unit))
    assert [(d.kind, d.address) for d in declared] == [("unix", "/run/docker.sock"), ("tcp", "[::]:2375")]


def test_relative_paths_are_the_daemons_cwd_and_root():
    view = view_of({"facts": {"daemon": {"cwd": "/srv/docker", "proc_root": "/var/lib/chroot"}}})
    assert view.resolve("certs/key.pem") == "/var/lib/chroot/srv/docker/certs/key.pem"
    assert view.resolve("/etc/docker//tls/../key.pem") == "/var/lib/chroot/etc/docker/key.pem"


def test_the_view_is_computed_once_per_facts():
    facts = facts_of(hardened_data())
    assert daemon_view(facts) is daemon_view(facts)


def test_the_report_says_which_daemon_and_where_its_files_disagree(tmp_path):
    data = apply_case(hardened_data(), {"running": "as_before", "daemon_json": {"log-driver": "json-file"}})
    _, out, _ = run_main(["--facts", write_facts(tmp_path / "f.json", data), "-f", "json"])
    daemon = json.loads(out)["daemon"]
    findings = daemon["findings"]
    assert any("pid 900" in f for f in findings)
    assert any("log-driver=json-file" in f and "disagrees with the running daemon" in f for f in findings)
    # Only the disagreement is a disagreement: the lines naming the daemon and its file are not.
    assert len(daemon["disagreements"]) == 1 and "log-driver=json-file" in daemon["disagreements"][0]
    assert set(daemon["disagreements"]) < set(findings)
    _, text, _ = run_main(["--facts", write_facts(tmp_path / "f.json", data)])
    assert "Daemon: " in text and "disagrees with the running daemon" in text


def test_a_daemon_whose_files_agree_with_it_has_no_disagreements(tmp_path):
    _, out, _ = run_main(["--facts", write_facts(tmp_path / "f.json", hardened_data()), "-f", "json"])
    daemon = json.loads(out)["daemon"]
    assert daemon["findings"] and "disagreements" not in daemon


@pytest.mark.parametrize("engine,keys,rec", [
    ({"info": {"SecurityOptions": 7}}, ["userns-remap", "seccomp-profile"], "2.8"),
    ({"info": {"RegistryConfig": "x"}}, ["insecure-registries"], "2.4"),
    ({"default_bridge": {"Options": "x"}}, ["icc"], "2.1"),
])
def test_an_api_answer_of_a_shape_no_engine_sends_is_unknown_not_a_crash(tmp_path, engine, keys, rec):
    # Found by fuzzing facts files: these aborted the whole audit with "internal error".
    data = hardened_data()
    for part, value in engine.items():
        data["engine"][part] = {**data["engine"][part], **value}
    view = build_view(facts_of(data))
    for key in keys:
        value = view.value(key)
        assert value.error and "shape no engine sends" in value.error and value.value is None, key
    code, out, err = run_main(["--facts", write_facts(tmp_path / "f.json", data), "-f", "json"])
    assert code == 1 and "internal error" not in err
    result = next(r for r in json.loads(out)["results"] if r["id"] == rec)
    assert result["status"] == "ERROR", result
