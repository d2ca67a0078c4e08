"""The auditor reads a command line and a daemon.json as the installed dockerd does.

Each case starts the real dockerd in a private mount and network namespace (namespaced_dockerd),
records whether it starts and what it then does (where it listens, whether it asks clients for a
certificate, its debug mode, the default bridge's icc, the socket's group, its insecure
registries), and compares that with what bench.daemon reads from the same argv and file.
"""
from __future__ import annotations

import grp
import json
from typing import Any, Optional

import pytest

from bench.daemon import docker_group, effective_config, listen_addresses, log_level, tls_mode
from integration_env import make_tls
from namespaced_dockerd import PROBE_SOCKET, Observed, docker, dockerd_version, observe, require_unshare

pytestmark = pytest.mark.integration

PROBE = f"unix://{PROBE_SOCKET}"
PORT = 2391


@pytest.fixture(scope="module")
def engine(integration_host, tmp_path_factory) -> dict[str, Any]:
    from dockerd import Unavailable
    from integration_env import unavailable
    try:
        require_unshare()
    except Unavailable as exc:
        unavailable(str(exc))
    tls = make_tls(tmp_path_factory.mktemp("tls"))
    return {"version": dockerd_version(), "tls": tls}


def _tls_probes(tls, port: int) -> dict[str, str]:
    host = f"tcp://127.0.0.1:{port}"
    return {"plain": docker(host, "version", "--format", "{{.Server.Version}}"),
            "anyclient": docker(host, "--tls", "--tlscacert", str(tls.ca), "version", "--format", "{{.Server.Version}}"),
            "certified": docker(host, "--tlsverify", "--tlscacert", str(tls.ca), "--tlscert", str(tls.client_cert),
                                "--tlskey", str(tls.client_key), "version", "--format", "{{.Server.Version}}")}


def _answered(text: str, version: str) -> bool:
    return text.strip() == version.split("+")[0] or text.strip() == version


def _observed_tls(observed: Observed, version: str) -> str:
    if _answered(observed.probes["plain"], version):
        return "none"
    if _answered(observed.probes["anyclient"], version):
        return "tls"
    assert _answered(observed.probes["certified"], version), observed.probes
    return "tlsverify"


def _listening(address: str) -> str:
    """An auditor address as ss shows the socket."""
    if address.startswith("unix://"):
        return address[len("unix://"):]
    host, _, port = address[len("tcp://"):].rpartition(":")
    # Go listens on 127.0.0.1 for "localhost", and on every address (ss: "*") for 0.0.0.0.
    return {"localhost": "127.0.0.1", "0.0.0.0": "*"}.get(host, host) + ":" + port


def _run(engine, args: list[str], daemon_json: Optional[str] = "{}", env: Optional[dict[str, str]] = None,
         probes: Optional[dict[str, str]] = None):
    observed = observe(args, daemon_json, env=env, probes=probes)
    argv = ["/usr/sbin/dockerd", *args]
    config = effective_config(argv, "/etc/docker/daemon.json", daemon_json, engine_version=engine["version"])
    # The auditor refuses what dockerd refuses, and nothing else.
    assert observed.started == (config.error is None), (observed.log, config.error)
    return observed, config


def _files(tls) -> list[str]:
    return ["--tlscacert", str(tls.ca), "--tlscert", str(tls.cert), "--tlskey", str(tls.key)]


@pytest.mark.parametrize("name,flags,daemon_json,env", [
    ("--tlsverify and no host", ["--tlsverify"], "{}", None),
    ("--tls and no host", ["--tls"], "{}", None),
    ("--tls on a TCP host", ["-H", f"tcp://127.0.0.1:{PORT}", "--tls"], "{}", None),
    ("--tls --tlsverify=false", ["-H", f"tcp://127.0.0.1:{PORT}", "--tls", "--tlsverify=false"], "{}", None),
    ("tls in daemon.json", ["-H", f"tcp://127.0.0.1:{PORT}"], '{"tls": true, "tlscacert": "CA", "tlscert": "CERT", "tlskey": "KEY"}', None),
    ("tlsverify null in daemon.json", ["-H", f"tcp://127.0.0.1:{PORT}"], '{"tlsverify": null, "tlscacert": "CA", "tlscert": "CERT", "tlskey": "KEY"}', None),
    ("DOCKER_TLS_VERIFY in the environment", ["-H", f"tcp://127.0.0.1:{PORT}"], "{}", {"DOCKER_TLS_VERIFY": "1"}),
    ("-H :port", ["-H", f":{PORT}"], "{}", None),
])
def test_listeners_and_tls_as_dockerd_sets_them_up(engine, name, flags, daemon_json, env):
    tls = engine["tls"]
    port = 2376 if not any(f.startswith(("-H", "--host")) for f in flags) else PORT
    files = {"CA": str(tls.ca), "CERT": str(tls.cert), "KEY": str(tls.key)}
    if "CA" in daemon_json:
        daemon_json = json.dumps({k: files.get(v, v) for k, v in json.loads(daemon_json).items()})
        flags_files = []
    else:
        flags_files = _files(tls)
    observed, config = _run(engine, [*flags, *flags_files], daemon_json, env, _tls_probes(tls, port))
    assert sorted(_listening(a) for a in listen_addresses(config)) == sorted(observed.tcp + observed.unix), name
    if observed.tcp:
        assert tls_mode(config, env or {}, home="/nonexistent").mode == _observed_tls(observed, engine["version"]), name


def test_tls_turned_on_in_daemon_json_drops_the_command_lines_files(engine):
    tls = engine["tls"]
    observed = observe(["-H", f"tcp://127.0.0.1:{PORT}", *_files(tls)], '{"tls": true}')
    config = effective_config(["/usr/sbin/dockerd", "-H", f"tcp://127.0.0.1:{PORT}", *_files(tls)],
                              "/etc/docker/daemon.json", '{"tls": true}', engine_version=engine["version"])
    assert not observed.started and "X509 key pair" in observed.log
    mode = tls_mode(config, {}, home="/nonexistent")
    assert mode.cert is None and any("would not start" in note for note in mode.notes)


@pytest.mark.parametrize("name,flags,daemon_json", [
    ("-Dl info: -D is debug", ["-Dl", "info"], "{}"),
    ("-Dldebug", ["-Dldebug"], "{}"),
    ("-D=false", ["-D=false"], "{}"),
    ("-lD: log level D", ["-lD"], "{}"),
    ("-l=: log level =", ["-l="], "{}"),
    ("--debug false: an argument", ["--debug", "false"], "{}"),
    ("log-level INFO in daemon.json", [], '{"log-level": "INFO"}'),
    ("debug inside another object", [], '{"settings": {"debug": true}}'),
    ("debug null", [], '{"debug": null}'),
])
def test_debug_mode_as_dockerd_reads_it(engine, name, flags, daemon_json):
    probes = {"debug": docker(PROBE, "info", "--format", "{{.Debug}}")}
    observed, config = _run(engine, ["-H", PROBE, *flags], daemon_json, probes=probes)
    if observed.started:
        assert (log_level(config) == "debug") == (observed.probes["debug"] == "true"), name


@pytest.mark.parametrize("name,flags,daemon_json", [
    ("--icc=F", ["--icc=F"], "{}"),
    ("--icc false: an argument", ["--icc", "false"], "{}"),
    ("icc null", [], '{"icc": null}'),
    ("icc as a string inside another object", [], '{"x": {"icc": "false"}}'),
    ("ICC", [], '{"ICC": false}'),
    ("a string where a bool belongs", [], '{"icc": "false"}'),
    ("an empty file", [], ""),
    ("a byte order mark", [], "\ufeff{}"),
    ("text after the object", [], '{"icc": false} and more'),
])
def test_icc_as_dockerd_reads_it(engine, name, flags, daemon_json):
    probes = {"bridge": docker(PROBE, "network", "inspect", "bridge", "--format", "{{json .Options}}")}
    observed, config = _run(engine, ["-H", PROBE, *flags], daemon_json, probes=probes)
    if observed.started:
        icc = json.loads(observed.probes["bridge"])["com.docker.network.bridge.enable_icc"]
        assert config.value("icc", True) is (icc == "true"), name


def test_an_option_set_both_ways_is_refused_by_dockerd_and_reported_from_the_flag(engine):
    # dockerd refuses the pair, so a running daemon read its flags before the file changed: the
    # auditor keeps the flag and says so, rather than refusing the whole configuration.
    observed = observe(["-H", PROBE, "--icc=false"], '{"icc": true}')
    config = effective_config(["/usr/sbin/dockerd", "-H", PROBE, "--icc=false"], "/etc/docker/daemon.json",
                              '{"icc": true}', engine_version=engine["version"])
    assert not observed.started and "specified both as a flag and in the configuration file" in observed.log
    assert config.error is None and config.value("icc") is False
    assert any("both as a flag" in note for note in config.notes)


@pytest.mark.parametrize("name,flags,daemon_json", [
    ("default", [], "{}"),
    ("-G ''", ["-G", ""], "{}"),
    ("group '' in daemon.json", [], '{"group": ""}'),
    ("-G with a numeric gid", ["-G", "999"], "{}"),
])
def test_socket_group_as_dockerd_sets_it(engine, name, flags, daemon_json):
    observed, config = _run(engine, ["-H", PROBE, *flags], daemon_json, probes={"gid": f"stat -c %g {PROBE_SOCKET}"})
    groups = {g.gr_name: g.gr_gid for g in grp.getgrall()}
    assert docker_group(config).gid(groups, daemon_gid=0) == int(observed.probes["gid"]), name


@pytest.mark.parametrize("name,daemon_json,insecure", [
    ("insecure-registries", '{"insecure-registries": ["r.example:5000"]}', True),
    ("insecure-registry, the flag's name", '{"insecure-registry": ["r.example:5000"]}', False),
])
def test_insecure_registries_as_dockerd_reads_them(engine, name, daemon_json, insecure):
    probes = {"registries": docker(PROBE, "info", "--format", "{{json .RegistryConfig.IndexConfigs}}")}
    observed, config = _run(engine, ["-H", PROBE], daemon_json, probes=probes)
    assert ("r.example:5000" in observed.probes["registries"]) is insecure
    assert ("r.example:5000" in (config.value("insecure-registries") or [])) is insecure, name


@pytest.mark.parametrize("name,flags,daemon_json", [
    ("a log opt in another case", ["--log-opt", "Max-Size=10m"], "{}"),
    ("a storage option without =", ["--storage-driver", "vfs", "--storage-opt", "size"], "{}"),
    ("a TCP host with a bad port", ["-H", "tcp://127.0.0.1:port"], "{}"),
    ("a ulimit whose soft limit is above the hard one", ["--default-ulimit", "nofile=2048:1024"], "{}"),
    ("an integer written as a float", [], '{"mtu": 1400.0}'),
    ("a list option given an object", [], '{"labels": {}}'),
    ("a ulimit written as the flag's text", [], '{"default-ulimits": {"nofile": "1024:2048"}}'),
    ("lowercase ulimit fields", [], '{"default-ulimits": {"nofile": {"name": "nofile", "soft": 1024, "hard": 2048}}}'),
    ("an empty object under an unknown key", [], '{"unused": {}}'),
    ("the flag's name host, accepted and ignored", [], '{"host": "tcp://127.0.0.1:2392"}'),
    ("--label and label (the flag's name) in the file: no conflict", ["--label", "a=b"], '{"label": ["c=d"]}'),
    ("--label and labels in the file: a conflict", ["--label", "a=b"], '{"labels": ["c=d"]}'),
])
def test_dockerd_starts_where_the_auditor_reads_and_refuses_where_it_refuses(engine, name, flags, daemon_json):
    if "a conflict" in name:
        # dockerd refuses the pair; the auditor reports the flag with a note (see the test above).
        observed = observe(["-H", PROBE, *flags], daemon_json)
        merged = effective_config(["/usr/sbin/dockerd", "-H", PROBE, *flags], "/etc/docker/daemon.json", daemon_json)
        assert not observed.started and any("both as a flag" in note for note in merged.notes)
        return
    observed, config = _run(engine, ["-H", PROBE, *flags], daemon_json)
    if observed.started:
        assert sorted(_listening(a) for a in listen_addresses(config)) == sorted(observed.tcp + observed.unix), name
