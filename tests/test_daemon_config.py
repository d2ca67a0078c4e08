"""The effective daemon configuration: flags merged with daemon.json, each value with its source."""
import json

import pytest

from bench.daemon import (ConfigError, effective_config, listen_addresses, parse_daemon_json, parse_flags,
                                 strip_daemon_command)


def test_flags_and_file_merge_with_sources():
    config = effective_config(["/usr/bin/dockerd", "--icc=false", "-l", "debug"], "/etc/docker/daemon.json",
                              json.dumps({"userns-remap": "default", "insecure-registries": ["r:5000"]}))
    assert config.error is None
    assert config.get("icc").value is False and config.get("icc").source == "flag --icc=false"
    assert config.get("log-level").value == "debug" and config.get("log-level").source == "flag -l debug"
    assert config.get("userns-remap").source == "daemon.json /etc/docker/daemon.json"
    assert config.value("insecure-registries") == ["r:5000"]
    assert config.get("iptables") is None  # unset stays unset; checks apply dockerd's default


@pytest.mark.parametrize("argv,key,value", [
    (["dockerd", "--icc"], "icc", True),
    (["dockerd", "--icc=0"], "icc", False),
    (["dockerd", "--log-level=warn"], "log-level", "warn"),
    (["dockerd", "-linfo"], "log-level", "info"),
    (["dockerd", "-l=error"], "log-level", "error"),
    (["dockerd", "--insecure-registry", "a:5000", "--insecure-registry=b:5000"], "insecure-registries", ["a:5000", "b:5000"]),
    (["dockerd", "--log-opt", "max-size=10m", "--log-opt", "syslog-address=udp://x:514"], "log-opts",
     {"max-size": "10m", "syslog-address": "udp://x:514"}),
    (["dockerd", "--default-ulimit", "nofile=1024:2048"], "default-ulimits",
     {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}),
    (["dockerd", "-H", "fd://", "-H", "tcp://0.0.0.0:2376"], "hosts", ["fd://", "tcp://0.0.0.0:2376"]),
    (["dockerd", "--mtu", "1400"], "mtu", 1400),
    (["dockerd", "-g", "/srv/docker"], "graph", "/srv/docker"),
])
def test_flag_forms(argv, key, value):
    settings, _, _ = parse_flags(argv)
    assert settings[key].value == value


def test_engine_1_11_runs_as_docker_daemon():
    assert strip_daemon_command(["/usr/bin/docker", "daemon", "--icc=false"]) == ["--icc=false"]
    assert strip_daemon_command(["docker", "-d", "-D"]) == ["-D"]
    config = effective_config(["/usr/bin/docker", "daemon", "--icc=false", "--disable-legacy-registry"], None, None)
    assert config.value("icc") is False and config.value("disable-legacy-registry") is True


def test_config_file_flag_is_not_a_setting():
    settings, control, _ = parse_flags(["dockerd", "--config-file", "/srv/d.json", "--debug"])
    assert control == {"--config-file": "/srv/d.json"} and "debug" in settings


def test_unknown_flag_is_noted_not_fatal():
    config = effective_config(["dockerd", "--made-up-flag", "--icc=false"], None, None)
    assert config.error is None and config.value("icc") is False
    assert any("--made-up-flag" in note for note in config.notes)


@pytest.mark.parametrize("argv,problem", [
    (["dockerd", "--icc=maybe"], "true or false"),
    (["dockerd", "--log-level"], "needs a value"),
    (["dockerd", "--mtu", "big"], "integer"),
    (["dockerd", "--default-ulimit", "nofile"], "name=soft"),
])
def test_bad_flag_values_make_the_configuration_unknown(argv, problem):
    config = effective_config(argv, None, None)
    assert config.error and problem in config.error


@pytest.mark.parametrize("text,problem", [
    ('{"icc": false,', "invalid JSON"),
    ("[]", "top level must be a JSON object"),
    ('{"icc": "false"}', "'icc' must be true or false"),
    ('{"insecure-registries": "r:5000"}', "list of strings"),
    ('{"log-opts": {"max-file": 3}}', "object of strings"),
    ('{"default-ulimits": {"nofile": {"Name": "nofile", "Soft": "x", "Hard": 1}}}', "limits"),
    ('{"icc": false, "no-such-option": 1}', "unknown key 'no-such-option'"),
])
def test_malformed_daemon_json_names_file_and_problem(text, problem):
    config = effective_config(["dockerd"], "/etc/docker/daemon.json", text)
    assert config.error.startswith("/etc/docker/daemon.json: ")
    assert problem in config.error
    assert config.settings == {}


def test_unreadable_daemon_json_is_an_error():
    config = effective_config(["dockerd"], "/etc/docker/daemon.json", None, "permission denied")
    assert config.error == "/etc/docker/daemon.json: permission denied"


def test_absent_daemon_json_means_flags_only():
    config = effective_config(["dockerd", "--icc=false"], "/etc/docker/daemon.json", None)
    assert config.error is None and list(config.settings) == ["icc"]


def test_option_set_both_ways_reports_the_flag():
    config = effective_config(["dockerd", "--icc=false"], "/d.json", '{"icc": true}')
    assert config.value("icc") is False
    assert any("both as a flag" in n for n in config.notes)


def test_listen_addresses_default_to_the_unix_socket():
    assert listen_addresses(effective_config(["dockerd"], None, None)) == ["unix:///var/run/docker.sock"]
    assert listen_addresses(effective_config(["dockerd", "-H", "fd://"], None, None)) == ["fd://"]


def test_parse_daemon_json_keeps_native_types():
    settings = parse_daemon_json('{"icc": false, "mtu": 1400, "labels": ["a=b"]}', "/d.json")
    assert settings["icc"].value is False and settings["mtu"].value == 1400
    with pytest.raises(ConfigError):
        parse_daemon_json('{"mtu": true}', "/d.json")
