"""What dockerd does with its configuration: log level, listen addresses, TLS, storage options and
the socket's group (bench/daemon/readings.py). Live counterparts: tests/integration/test_dockerd_reads.py."""
import pytest

from bench.daemon import (ConfigError, docker_group, effective_config, listen_addresses, log_level, parse_daemon_host,
                          storage_opts, tls_mode)


def config(*argv, text=None, version=None):
    merged = effective_config(["dockerd", *argv], "/etc/docker/daemon.json" if text is not None else None, text,
                              engine_version=version)
    assert merged.error is None, merged.error
    return merged


@pytest.mark.parametrize("argv,text,level", [
    ([], None, "info"),
    (["-l", "warn"], None, "warn"),
    (["-l", "ERROR"], None, "error"),
    (["-D", "-l", "error"], None, "debug"),         # debug wins: dockerd enables it after the level
    (["-D=false", "-l", "trace"], None, "trace"),
    ([], '{"debug": true, "log-level": "warn"}', "debug"),
    (["-Dl", "info"], None, "debug"),
])
def test_log_level(argv, text, level):
    assert log_level(config(*argv, text=text)) == level


@pytest.mark.parametrize("written,address", [
    ("tcp://:2375", "tcp://localhost:2375"),
    (":2375", "tcp://localhost:2375"),
    ("tcp://", "tcp://localhost:2375"),
    ("tcp://0.0.0.0", "tcp://0.0.0.0:2375"),           # the port defaults to 2375, TLS or not
    ("0.0.0.0:2376", "tcp://0.0.0.0:2376"),            # no scheme is TCP
    ("10.0.0.5", "tcp://10.0.0.5:2375"),
    ("tcp://[::1]:2376", "tcp://[::1]:2376"),
    ("[::]:2375", "tcp://[::]:2375"),
    (" tcp://10.0.0.5:2376 ", "tcp://10.0.0.5:2376"),
    ("unix://", "unix:///var/run/docker.sock"),
    ("unix:///run/docker.sock", "unix:///run/docker.sock"),
    ("fd://", "fd://"),
    ("fd://3", "fd://3"),
])
def test_host_forms(written, address):
    assert parse_daemon_host(written) == address


@pytest.mark.parametrize("written", ["tcp://host:port", "tcp://host:0", "http://x", "unix://a://b", "tcp://a://b"])
def test_hosts_dockerd_refuses(written):
    with pytest.raises(ConfigError):
        parse_daemon_host(written)


@pytest.mark.parametrize("argv,text,version,rootless,addresses", [
    ([], None, None, None, ["unix:///var/run/docker.sock"]),
    ([], None, None, 1000, ["unix:///run/user/1000/docker.sock"]),
    # TLS and no host: tcp://localhost:2376 alone, rootless or not (verified live: no unix socket).
    (["--tlsverify"], None, None, None, ["tcp://localhost:2376"]),
    (["--tls"], None, "19.03.15", 1000, ["tcp://localhost:2376"]),
    ([], '{"tls": true}', None, None, ["tcp://localhost:2376"]),
    # DOCKER_TLS_VERIFY is invisible here and changes nothing on 20.10 (verified live).
    (["-H", "fd://", "-H", ":2375", "-H", "tcp://localhost:2375"], None, None, None,
     ["fd://", "tcp://localhost:2375"]),
    # An empty -H is the default address before Engine 29.2 (verified live on 20.10), dropped after.
    (["-H", "", "-H", "unix:///run/a.sock"], None, "20.10.24", None,
     ["unix:///var/run/docker.sock", "unix:///run/a.sock"]),
    (["-H", "", "-H", "unix:///run/a.sock"], None, "29.2.0", None, ["unix:///run/a.sock"]),
    (["-H", ""], None, "29.2.0", None, ["unix:///var/run/docker.sock"]),
    ([], '{"hosts": ["unix://", "tcp://0.0.0.0"]}', None, None, ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]),
])
def test_listen_addresses(argv, text, version, rootless, addresses):
    assert listen_addresses(config(*argv, text=text, version=version), rootless) == addresses


def test_listen_addresses_take_a_known_default_socket():
    assert listen_addresses(config(), default_socket="unix:///srv/d.sock") == ["unix:///srv/d.sock"]


@pytest.mark.parametrize("argv,text,version,environ,mode", [
    ([], None, "20.10.24", {}, "none"),
    (["--tlsverify"], None, "20.10.24", {}, "tlsverify"),
    (["--tls"], None, "20.10.24", {}, "tlsverify"),             # verified live
    (["--tls", "--tlsverify=false"], None, "20.10.24", {}, "tls"),
    (["--tlsverify=false"], None, "20.10.24", {}, "tls"),       # tlsverify at all turns TLS on
    ([], '{"tls": true, "tlsverify": false}', "28.0.0", {}, "tls"),
    ([], '{"tlsverify": null}', "20.10.24", {}, "tlsverify"),   # verified live
    ([], '{"x": {"tlsverify": false}}', "20.10.24", {}, "tlsverify"),  # counted as set; TLSVerify unset
    (["--tls"], None, "19.03.15", {}, "tls"),
    (["--tls"], None, None, {}, "tls"),                          # unknown version: the weaker reading
    # DOCKER_TLS_VERIFY: ignored from 20.10 (verified live: plain HTTP), TLS and verification before.
    ([], None, "20.10.24", {"DOCKER_TLS_VERIFY": "1"}, "none"),
    ([], None, "19.03.15", {"DOCKER_TLS_VERIFY": "1"}, "tlsverify"),
    (["--tlsverify=false"], None, "19.03.15", {"DOCKER_TLS_VERIFY": "1"}, "tls"),
    ([], None, None, {"DOCKER_TLS_VERIFY": "1"}, "none"),
])
def test_tls_mode(argv, text, version, environ, mode):
    assert tls_mode(config(*argv, text=text, version=version), environ, home="/root").mode == mode


def test_tls_mode_of_engine_1_11():
    merged = effective_config(["docker", "daemon", "--tls", "-H", "tcp://0.0.0.0:2376"], None, None)
    assert tls_mode(merged, {}).mode == "tls"
    assert tls_mode(merged, {"DOCKER_TLS_VERIFY": "1"}).mode == "tlsverify"


@pytest.mark.parametrize("argv,environ,home,ca", [
    (["--tlscacert=/etc/docker/ca.pem"], {"DOCKER_CERT_PATH": "/c"}, "/root", "/etc/docker/ca.pem"),
    ([], {"DOCKER_CERT_PATH": "/c", "DOCKER_CONFIG": "/d"}, "/root", "/c/ca.pem"),   # verified live
    ([], {"DOCKER_CONFIG": "/d"}, "/root", "/d/ca.pem"),                            # verified live
    ([], {"HOME": "/home/dock"}, "/root", "/home/dock/.docker/ca.pem"),              # verified live
    ([], {}, "/root", "/root/.docker/ca.pem"),
    ([], None, "/root", "/root/.docker/ca.pem"),
    ([], {}, None, None),
])
def test_tls_files_default_as_dockerd_resolves_them(argv, environ, home, ca):
    mode = tls_mode(config("--tlsverify", *argv, version="20.10.24"), environ, home=home)
    assert mode.ca == ca
    if environ is None:
        assert any("environment unknown" in note for note in mode.notes)


def test_tls_turned_on_in_daemon_json_only_drops_the_command_lines_files():
    merged = config("-H", "tcp://0.0.0.0:2376", "--tlscert=/c.pem", "--tlskey=/k.pem", text='{"tls": true}',
                    version="20.10.24")
    mode = tls_mode(merged, {}, home="/root")
    assert mode.cert is None and mode.key is None and "dropped" in mode.sources["cert"]
    assert any("would not start" in note for note in mode.notes)
    # With DOCKER_TLS_VERIFY the command line's TLS stays on, and with it its files.
    assert tls_mode(merged, {"DOCKER_TLS_VERIFY": "1"}).cert == "/c.pem"
    assert tls_mode(merged, None).cert == "/c.pem"


def test_tls_paths_lose_their_quotes_on_engines_17_06_to_20_10():
    assert config('--tlscacert="/etc/ca.pem"', version="20.10.24").value("tlscacert") == "/etc/ca.pem"
    assert config('--tlscacert="/etc/ca.pem"', version="24.0.0").value("tlscacert") == '"/etc/ca.pem"'


def test_storage_opts_as_the_driver_reads_them():
    merged = config("--storage-opt", " DM.BaseSize = 20G ", "--storage-opt", "dm.basesize=30G",
                    "--storage-opt", "overlay2.size=10G")
    assert storage_opts(merged) == {"dm.basesize": "30G", "overlay2.size": "10G"}
    assert storage_opts(config(text='{"storage-opts": ["DM.thinpooldev=/dev/mapper/thin"]}')) == \
        {"dm.thinpooldev": "/dev/mapper/thin"}
    assert storage_opts(config()) == {}


@pytest.mark.parametrize("argv,text,value,gid", [
    ([], None, "docker", 105),
    (["-G", "999"], None, "999", 999),                 # not a group name: a gid (verified live)
    (["-G", "adm"], None, "adm", 4),
    (["-G", "4"], None, "4", 4),
    (["-G", "105"], None, "105", 4),                   # a group named "105" comes first
    (["-G", ""], None, "", 0),                         # no group: the daemon's own (verified live)
    ([], '{"group": ""}', "docker", 105),              # the file's zero value: the default (verified live)
    (["-G", "nosuch"], None, "nosuch", None),          # dockerd refuses to start
])
def test_docker_group(argv, text, value, gid):
    group = docker_group(config(*argv, text=text))
    assert group.value == value
    assert group.gid({"docker": 105, "adm": 4, "105": 4}, daemon_gid=0) == gid


def test_a_missing_docker_group_leaves_the_daemons_group():
    assert docker_group(config()).gid({}, daemon_gid=0) == 0


def test_docker_tls_verify_moved_the_default_address_before_engine_20_10():
    env = {"DOCKER_TLS_VERIFY": "1"}
    assert listen_addresses(config(version="19.03.15"), environ=env) == ["tcp://localhost:2376"]
    assert listen_addresses(config(version="20.10.24"), environ=env) == ["unix:///var/run/docker.sock"]  # verified live
