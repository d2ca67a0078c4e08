"""The effective daemon configuration: flags read as dockerd's parser reads them, daemon.json read as
dockerd decodes it, merged, each value with its source. The live counterpart, against the installed
dockerd, is tests/integration/test_dockerd_reads.py."""
import json
import re

import pytest

from bench.daemon import (MFLAG, PFLAG, ConfigError, effective_config, generation_of, parse_daemon_json, parse_flags,
                          strip_daemon_command)
from bench.daemon.go_values import go_parse_int


def settings_of(*argv, version=None):
    return {k: s.value for k, s in parse_flags(list(argv), engine_version=version)[0].items()}


def config(argv, text=None, version=None):
    return effective_config(argv, "/etc/docker/daemon.json" if text is not None else None, text,
                            engine_version=version)


def test_flags_and_file_merge_with_sources():
    merged = effective_config(["/usr/bin/dockerd", "--icc=false", "-l", "debug"], "/etc/docker/daemon.json",
                              json.dumps({"userns-remap": "default", "insecure-registries": ["r:5000"]}))
    assert merged.error is None
    assert merged.get("icc").value is False and merged.get("icc").source == "flag --icc=false"
    assert merged.get("log-level").value == "debug" and merged.get("log-level").source == "flag -l debug"
    assert merged.get("userns-remap").source == "daemon.json /etc/docker/daemon.json"
    assert merged.value("insecure-registries") == ["r:5000"]
    assert merged.get("iptables") is None  # unset stays unset; checks apply dockerd's default


# -- pflag: dockerd since Engine 1.13 ------------------------------------------------------------

@pytest.mark.parametrize("argv,expected", [
    (["--icc"], {"icc": True}),
    (["--icc=0"], {"icc": False}),
    (["--icc=F"], {"icc": False}),
    (["--icc=False"], {"icc": False}),
    (["--icc=T", "--iptables=1"], {"icc": True, "iptables": True}),
    (["--log-level=warn"], {"log-level": "warn"}),
    (["--log-level", "warn"], {"log-level": "warn"}),
    (["-linfo"], {"log-level": "info"}),
    (["-l=error"], {"log-level": "error"}),
    (["-l", "debug", "--log-level=info"], {"log-level": "info"}),  # a repeated scalar: the last wins
    # Short flags cluster: bools take no value, the first one that does takes the rest or the next word.
    (["-Dl", "info"], {"debug": True, "log-level": "info"}),
    (["-Dldebug"], {"debug": True, "log-level": "debug"}),
    (["-Dl=warn"], {"debug": True, "log-level": "warn"}),
    (["-D=false"], {"debug": False}),
    (["-DH", "fd://"], {"debug": True, "hosts": ["fd://"]}),
    # pflag hands a value-taking flag the next word whatever it looks like.
    (["--group", "--icc=false"], {"group": "--icc=false"}),
    (["-G", "999"], {"group": "999"}),
    (["-G", ""], {"group": ""}),
    (["--mtu", "1400"], {"mtu": 1400}),
    (["--mtu=0x578"], {"mtu": 1400}),   # strconv.ParseInt(s, 0, 64)
    (["--mtu=02570"], {"mtu": 1400}),   # a leading 0 is octal
    (["--mtu=1_400"], {"mtu": 1400}),
    (["--mtu=-1"], {"mtu": -1}),
    (["--insecure-registry", "a:5000", "--insecure-registry=b:5000"], {"insecure-registries": ["a:5000", "b:5000"]}),
    (["--log-opt", "max-size=10m", "--log-opt", "syslog-address=udp://x:514"],
     {"log-opts": {"max-size": "10m", "syslog-address": "udp://x:514"}}),
    (["--log-opt", "max-size", "--log-opt", "labels=a=b"], {"log-opts": {"max-size": "", "labels": "a=b"}}),
    (["--default-ulimit", "nofile=1024:2048", "--default-ulimit=nproc=-1"],
     {"default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048},
                          "nproc": {"Name": "nproc", "Soft": -1, "Hard": -1}}}),
    (["-H", "fd://", "--host", "tcp://0.0.0.0:2376"], {"hosts": ["fd://", "tcp://0.0.0.0:2376"]}),
    (["-g", "/srv/docker"], {"graph": "/srv/docker"}),
    (["--add-runtime", "crun=/usr/bin/crun"], {"runtimes": {"crun": {"path": "/usr/bin/crun"}}}),
    (["--feature", "cdi", "--feature=containerd-snapshotter=false"],
     {"features": {"cdi": True, "containerd-snapshotter": False}}),
    (["--host-gateway-ip", "10.0.0.1"], {"host-gateway-ips": ["10.0.0.1"]}),
    (["--icc=false", "--", ], {"icc": False}),
])
def test_pflag_forms(argv, expected):
    assert settings_of("dockerd", *argv) == expected


@pytest.mark.parametrize("argv,problem", [
    (["--icc=maybe"], "true or false"),
    (["--icc=yes"], "true or false"),
    (["--icc=no"], "true or false"),
    (["--log-level"], "needs a value"),
    (["-l"], "needs a value"),
    (["-Dl"], "needs a value"),
    (["--mtu", "big"], "integer"),
    (["--mtu=1__400"], "integer"),
    (["--mtu=0x"], "integer"),
    (["--mtu=9223372036854775808"], "integer"),
    (["---icc"], "bad flag syntax"),
    (["--=x"], "bad flag syntax"),
    # A bool flag takes its value only after "=": the word is an argument, which dockerd refuses.
    (["--debug", "false"], "accepts no arguments"),
    (["--icc", "false"], "accepts no arguments"),
    (["stray"], "accepts no arguments"),
    (["--icc=false", "--", "-D"], "accepts no arguments"),
    (["--default-ulimit", "nofile"], "name=soft"),
    (["--default-ulimit", "files=1"], "invalid ulimit type"),
    (["--default-ulimit", "nofile=2048:1024"], "soft limit"),
    (["--default-ulimit", "nofile=1:2:3"], "too many"),
    (["-Xl", "debug"], "unknown shorthand flag '-X'"),
])
def test_command_lines_dockerd_refuses(argv, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_flags(["dockerd", *argv])


@pytest.mark.parametrize("argv,problem", [
    (["-lD"], "log-level 'D'"),        # pflag: -l takes the rest of the cluster
    (["-l="], "log-level '='"),        # "-l=" is no "-f=value" form: the value is "="
    (["--log-level", "--debug"], "log-level '--debug'"),
    (["-l", "verbose"], "log-level 'verbose'"),
    (["-H", "tcp://host:port"], "invalid port"),
    (["-H", "ftp://x"], "unsupported protocol"),
])
def test_values_dockerd_refuses_make_the_configuration_unknown(argv, problem):
    merged = config(["dockerd", *argv])
    assert merged.error and problem in merged.error and merged.settings == {}


def test_go_parse_int():
    assert [go_parse_int(t) for t in ("0", "17", "017", "0o17", "0x1F", "0b101", "-0x10", "+5", "0_7", "0x_1f")] == \
        [0, 17, 15, 15, 31, 5, -16, 5, 7, 31]
    for bad in ("", "08", "1_", "_1", "0x", "1e3", "1.0", " 1"):
        with pytest.raises(ValueError):
            go_parse_int(bad)


def test_unknown_flags_are_noted_and_their_value_kept_out_of_the_arguments():
    # dockerd refuses flags it does not know, so a newer dockerd knows this one; it takes no
    # arguments, so the word after an unknown flag is that flag's value.
    merged = config(["dockerd", "--made-up-flag", "some-value", "--icc=false", "--other-new", "--iptables=false"])
    assert merged.error is None and merged.value("icc") is False and merged.value("iptables") is False
    assert any("--made-up-flag (with value 'some-value')" in note for note in merged.notes)
    assert any("--other-new" in note for note in merged.notes)


def test_control_flags_are_not_settings():
    settings, control, _ = parse_flags(["dockerd", "--config-file", "/srv/d.json", "--debug"])
    assert control == {"--config-file": "/srv/d.json"} and "debug" in settings


# -- mflag: Engine 1.12's dockerd, `docker daemon` (1.8-1.11), `docker -d` ------------------------

def test_the_generation_comes_from_the_command_and_the_version():
    assert generation_of(["/usr/bin/dockerd"]) == PFLAG
    assert generation_of(["/usr/bin/dockerd"], "1.12.6") == MFLAG
    assert generation_of(["/usr/bin/dockerd"], "1.13.1") == PFLAG
    assert generation_of(["/usr/bin/docker", "daemon"]) == MFLAG
    assert generation_of(["docker", "-d"], "28.0.0") == MFLAG
    assert strip_daemon_command(["/usr/bin/docker", "daemon", "--icc=false"]) == ["--icc=false"]
    assert strip_daemon_command(["docker", "-d", "-D"]) == ["-D"]


@pytest.mark.parametrize("argv,expected", [
    (["daemon", "--icc=false", "--disable-legacy-registry"], {"icc": False, "disable-legacy-registry": True}),
    # Deprecated single-dash spellings of a few long flags.
    (["daemon", "-icc=false", "-iptables=false", "-mtu", "1400", "-bip", "10.1.0.1/16"],
     {"icc": False, "iptables": False, "mtu": 1400, "bip": "10.1.0.1/16"}),
    (["daemon", "-api-enable-cors"], {"api-enable-cors": True}),
    # mflag retries an unknown name as one-letter flags: -lD debug is -l debug plus -D.
    (["daemon", "-lD", "debug"], {"log-level": "debug", "debug": True}),
    (["daemon", "-Dl", "debug"], {"log-level": "debug", "debug": True}),
    # ... and the retry drops an inline value: -l then takes the next argument.
    (["daemon", "-Dl=warn", "info"], {"debug": True, "log-level": "info"}),
    (["daemon", '--log-level="debug"'], {"log-level": "debug"}),  # -flag="x": the quotes go
    (["daemon", "-H", "fd://", "-g", "/srv/docker", "-G", "999"], {"hosts": ["fd://"], "graph": "/srv/docker",
                                                                  "group": "999"}),
    (["-d", "-D", "--iptables=false"], {"debug": True, "iptables": False}),
    (["-H", "fd://", "-d"], {"hosts": ["fd://"]}),  # before Engine 1.8 -d was one flag among others
])
def test_mflag_forms(argv, expected):
    assert settings_of("/usr/bin/docker", *argv) == expected


@pytest.mark.parametrize("argv,problem", [
    (["daemon", "-D", "false"], "accepts no arguments"),          # mflag stops at the first argument
    (["daemon", "-D", "false", "--icc=false"], "accepts no arguments"),
    (["daemon", "-insecure-registry", "x"], "not defined"),       # no single-dash form of this one
    (["daemon", "-Dx"], "not defined"),
    (["daemon", "--icc=maybe"], "true or false"),
])
def test_mflag_command_lines_dockerd_refuses(argv, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_flags(["/usr/bin/docker", *argv])


def test_engine_1_11_levels_are_exact():
    assert config(["docker", "daemon", "-l", "INFO"]).error
    assert config(["dockerd", "-l", "INFO"]).value("log-level") == "info"


# -- daemon.json ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text,problem", [
    ('{"icc": false,', "invalid JSON"),
    ("[]", "top level must be a JSON object"),
    ('{"icc": NaN}', "invalid JSON"),
    ('{"icc": "false"}', "'icc' must be true or false"),
    ('{"mtu": 1400.0}', "'mtu' must be an integer"),
    ('{"mtu": 9223372036854775808}', "'mtu' must be an integer"),
    ('{"mtu": true}', "'mtu' must be an integer"),
    ('{"insecure-registries": "r:5000"}', "list of strings"),
    ('{"log-opts": {"max-file": 3}}', "object of strings"),
    ('{"default-ulimits": {"nofile": {"Name": "nofile", "Soft": "x", "Hard": 1}}}', "limits"),
    ('{"default-ulimits": {"nofile": "1024:2048"}}', "limits"),
    ('{"labels": {}}', "'labels' must be a list of strings, not an object"),
    ('{"ICC": false}', "unknown key 'ICC'.*dockerd's name is 'icc'"),
    ('{"Log_Level": "info"}', "unknown key 'Log_Level'"),
    ('{"bridge-settings": {"Icc": false}}', "unknown key 'Icc' \\(inside 'bridge-settings'\\)"),
    ('{"graph": "/a", "data-root": "/b"}', "'graph' and 'data-root'"),
])
def test_daemon_json_dockerd_refuses(text, problem):
    merged = config(["dockerd"], text)
    assert merged.error and merged.error.startswith("/etc/docker/daemon.json: ")
    assert re.search(problem, merged.error), merged.error
    assert merged.settings == {}


def test_keys_a_newer_dockerd_knows_are_notes_not_a_refusal():
    merged = config(["dockerd"], '{"icc": false, "some-future-option": {"a": 1}, "another-new-one": 3}')
    assert merged.error is None and merged.value("icc") is False
    assert any("'another-new-one'" in n and "not an option this auditor knows" in n for n in merged.notes)
    # Members of an object that is not an option of its own count as top-level keys to dockerd.
    assert any("'a' (inside 'some-future-option')" in n for n in merged.notes)


def test_engine_1_12_and_earlier_have_a_closed_set_of_keys():
    assert "unknown key 'some-future-option'" in config(["docker", "daemon"], '{"some-future-option": 1}').error
    # Default ulimits were flags only before Engine 1.13.
    assert "unknown key 'default-ulimits'" in config(["docker", "daemon"], '{"default-ulimits": {}}').error
    assert config(["dockerd"], '{"default-ulimits": {}}', version="1.12.6").error
    assert config(["docker", "daemon"], '{"icc": false, "graph": "/srv"}').value("graph") == "/srv"


@pytest.mark.parametrize("text,key,value", [
    # A null bool: dockerd sets the flag from "<nil>", which pflag stores as false (verified live).
    ('{"icc": null}', "icc", False),
    ('{"iptables": null}', "iptables", False),
    # A bool inside an object that is no option is read through its flag, from fmt.Sprint of the value.
    ('{"bridge-settings": {"icc": false}}', "icc", False),
    ('{"x": {"icc": "false"}}', "icc", False),
    ('{"x": {"icc": "T"}}', "icc", True),
    ('{"x": {"icc": 1}}', "icc", True),
    ('{"x": {"icc": "no"}}', "icc", False),
    ('{"x": {"iptables": []}}', "iptables", False),
    # Proxies are an object of their own (Engine 23.0 and later); encoding/json matches its name
    # case-insensitively.
    ('{"Proxies": {"http-proxy": "http://proxy:3128"}}', "http-proxy", "http://proxy:3128"),
    # A bool flag's name that is no daemon.json key still sets the flag.
    ('{"restart": false}', "restart", False),
    # go-units' Ulimit fields have no JSON tags: encoding/json matches them case-insensitively.
    ('{"default-ulimits": {"nofile": {"name": "nofile", "SOFT": 1024, "hard": 2048, "other": 1}}}',
     "default-ulimits", {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}),
    ('{"default-ulimits": {"nofile": {"Name": "nofile"}}}', "default-ulimits", {"nofile": {"Name": "nofile", "Soft": 0,
                                                                                         "Hard": 0}}),
    # A repeated object is decoded into the same Go map: its members add up.
    ('{"log-opts": {"max-size": "10m"}, "log-opts": {"max-file": "3"}}', "log-opts",
     {"max-size": "10m", "max-file": "3"}),
    ('{"labels": ["a=1"], "labels": ["b=2"]}', "labels", ["b=2"]),
    ('{"log-opts": {"max-size": null}}', "log-opts", {"max-size": ""}),
])
def test_daemon_json_values_as_dockerd_decodes_them(text, key, value):
    merged = config(["dockerd"], text)
    assert merged.error is None and merged.value(key) == value


@pytest.mark.parametrize("text,key,note", [
    ('{"debug": null}', "debug", "null"),              # bound to dockerd's options, not its Config
    ('{"x": {"debug": true}}', "debug", "accepted and ignored"),
    ('{"x": {"log-level": "debug"}}', "log-level", "accepted and ignored"),
    ('{"group": ""}', "group", "empty; dockerd uses its default"),
    ('{"log-driver": null}', "log-driver", "null"),
    ('{"insecure-registry": ["r:5000"]}', "insecure-registries", "a flag's name, which dockerd accepts and ignores"),
    ('{"host": "tcp://0.0.0.0:2375"}', "hosts", "'host' is a flag's name"),
    ('{"containerd-plugins-namespace": "p"}', "containerd-plugins-namespace", "accepts and ignores"),
    ('{"storage-opts": []}', "storage-opts", "empty"),
    ('{"mtu": 0}', "mtu", "empty"),
    ('{"unused": {}}', "unused", "accepted and ignored"),
])
def test_daemon_json_values_dockerd_does_not_use(text, key, note):
    merged = config(["dockerd"], text)
    assert merged.error is None and merged.get(key) is None
    assert any(note in n for n in merged.notes), merged.notes


@pytest.mark.parametrize("text,version,error", [
    ("", "20.10.24", "empty, which dockerd before 23.0 refuses"),
    ("  \n", "23.0.0", None),
    ("", None, None),
    ("\ufeff{}", "20.10.24", "byte order mark"),
    ("\ufeff{}", "24.0.0", None),
    ('{"icc": false} trailing', "20.10.24", None),  # json.Decoder read the first value only
    ('{"icc": false} trailing', "23.0.0", "text after the object"),
    ('{"icc": false} trailing', None, None),
    ("null", "28.0.0", None),
])
def test_what_changed_when_dockerd_23_switched_to_json_unmarshal(text, version, error):
    merged = config(["dockerd"], text, version)
    if error:
        assert merged.error and error in merged.error
    else:
        assert merged.error is None and merged.notes


def test_parse_daemon_json_returns_settings_notes_and_the_keys_set():
    parsed = parse_daemon_json('{"icc": false, "mtu": 1400, "labels": ["a=b"], "tlsverify": null, "new-key": 1}',
                               "/d.json")
    assert parsed.settings["icc"].value is False and parsed.settings["mtu"].value == 1400
    assert "tlsverify" not in parsed.settings and parsed.keys == {"icc", "mtu", "labels", "tlsverify", "new-key"}
    assert any("'new-key'" in note for note in parsed.notes)
    with pytest.raises(ConfigError):
        parse_daemon_json('{"mtu": true}', "/d.json")


# -- the merge -----------------------------------------------------------------------------------

def test_unreadable_daemon_json_is_an_error():
    merged = effective_config(["dockerd"], "/etc/docker/daemon.json", None, "permission denied")
    assert merged.error == "/etc/docker/daemon.json: permission denied"


def test_absent_daemon_json_means_flags_only():
    merged = effective_config(["dockerd", "--icc=false"], "/etc/docker/daemon.json", None)
    assert merged.error is None and list(merged.settings) == ["icc"]


@pytest.mark.parametrize("argv,text,conflict", [
    (["--icc=false"], '{"icc": true}', "icc"),
    (["--label", "a=b"], '{"labels": ["c=d"]}', "labels"),        # a named option: flag --label, key labels
    (["-H", "fd://"], '{"hosts": ["unix:///x.sock"]}', "hosts"),
    (["--icc=false"], '{"x": {"icc": true}}', "icc"),             # flattened members count
    (["--config-file", "/d.json"], '{"config-file": "/e.json"}', "config-file"),
])
def test_an_option_set_both_ways_reports_the_flag(argv, text, conflict):
    merged = config(["dockerd", *argv], text)
    assert merged.error is None
    assert any(f"set both as a flag and in /etc/docker/daemon.json: {conflict}" in n for n in merged.notes)


def test_runtimes_merge_from_both():
    merged = config(["dockerd", "--add-runtime", "crun=/usr/bin/crun"], '{"runtimes": {"kata": {"path": "/k"}}}')
    assert merged.value("runtimes") == {"kata": {"path": "/k"}, "crun": {"path": "/usr/bin/crun"}}
    assert not any("both" in n for n in merged.notes)


@pytest.mark.parametrize("argv,text,key,value,written", [
    (["dockerd", "-l", "INFO"], None, "log-level", "info", "INFO"),
    (["dockerd"], '{"log-level": "Warning"}', "log-level", "warn", "Warning"),
    (["dockerd", "--storage-opt", " DM.BaseSize = 20G"], None, "storage-opts", ["dm.basesize=20G"],
     [" DM.BaseSize = 20G"]),
])
def test_values_are_the_ones_dockerd_uses_with_what_was_written(argv, text, key, value, written):
    setting = config(argv, text).get(key)
    assert setting.value == value and setting.written == written
    assert f"written {json.dumps(written) if isinstance(written, list) else written}" in setting.describe()


@pytest.mark.parametrize("argv,text,version,tls,tlsverify", [
    # tlsverify given at all turns TLS on, in every release, over tls=false too.
    (["--tlsverify"], None, None, True, True),
    (["--tlsverify=false"], None, "20.10.24", True, False),
    (["--tls=false", "--tlsverify"], None, None, True, True),
    ([], '{"tlsverify": false}', "19.03.15", True, False),
    # From 20.10, an unset (or null) tlsverify takes tls's value.
    (["--tls"], None, "20.10.24", True, True),
    ([], '{"tls": true}', "28.0.0", True, True),
    ([], '{"tlsverify": null}', "20.10.24", True, True),
    (["--tls"], None, "19.03.15", True, None),
    (["--tls"], None, None, True, None),        # unknown version: nothing implied
    (["docker", "--tls"], None, "28.0.0", True, None),  # Engine 1.11's `docker daemon`
])
def test_tls_settings_dockerd_implies(argv, text, version, tls, tlsverify):
    if argv[:1] == ["docker"]:
        argv = ["docker", "daemon", *argv[1:]]
    else:
        argv = ["dockerd", *argv]
    merged = config(argv, text, version)
    assert merged.value("tls") is tls and merged.value("tlsverify") is tlsverify


@pytest.mark.parametrize("argv,text,problem", [
    # Built-in log drivers match option names exactly, all lowercase (verified live on 20.10).
    (["--log-opt", "Max-Size=10m"], None, "log opt 'Max-Size'"),
    (["--log-driver=syslog"], '{"log-opts": {"Syslog-Address": "udp://10.0.0.9:514"}}', "log opt 'Syslog-Address'"),
    # Every storage driver parses its options as key=value (verified live on 20.10).
    (["--storage-opt", "overlay2.size"], None, "without key=value"),
])
def test_driver_options_dockerd_refuses(argv, text, problem):
    merged = config(["dockerd", *argv], text)
    assert merged.error and problem in merged.error


def test_a_log_driver_plugin_checks_its_own_options():
    merged = config(["dockerd", "--log-driver", "grafana/loki:latest", "--log-opt", "Loki-URL=http://x"])
    assert merged.error is None and merged.value("log-opts") == {"Loki-URL": "http://x"}


def test_a_list_flags_own_name_in_daemon_json_is_no_conflict():
    # dockerd compares a list flag's option name ("labels"), not its flag name, with the file's keys;
    # "label" it accepts and ignores.
    merged = config(["dockerd", "--label", "a=b"], '{"label": ["c=d"]}')
    assert merged.value("labels") == ["a=b"] and not any("both" in n for n in merged.notes)
