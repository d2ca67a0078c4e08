"""Swarm facts read-only and read as swarmkit and dockerd read them: the collector asks only for
lists (never the join tokens or the unlock key) and keeps names, not values; docker-state.json gives
the listen and data-path addresses; the daemon view leaves the swarm's own ports aside; durations,
certificates and encrypted overlays are read as Docker reads them."""
from __future__ import annotations

import datetime
import json
import socketserver
import subprocess
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from bench.collect.swarm import collect_swarm
from bench.daemon.listeners import api_sockets
from bench.engine_api.session import EngineOptions, EngineSession
from bench.facts import DaemonFacts, EngineFacts, Facts, Listener, SwarmFacts
from bench.hostio import Host
from bench.swarm_values import (host_part, is_encrypted, is_wildcard, listen_port, parse_duration, port_of,
                                read_certificate, show_duration)
from helpers import apply_case, facts_of, hardened_data, make

MANAGER_INFO = {"NodeID": "n1", "NodeAddr": "10.0.0.5", "LocalNodeState": "active", "ControlAvailable": True,
                "RemoteManagers": [{"NodeID": "n1", "Addr": "10.0.0.5:4000"}]}
SECRET_VALUE = "hunter2"

ANSWERS = {
    "/nodes": [{"ID": "n1", "Spec": {"Role": "manager", "Availability": "active", "Labels": {"k": SECRET_VALUE}},
                "Status": {"State": "ready", "Addr": "10.0.0.5"}, "Description": {"Hostname": "m1"},
                "ManagerStatus": {"Leader": True, "Reachability": "reachable", "Addr": "10.0.0.5:4000"}}],
    "/networks": [{"Name": "ingress", "Id": "i1", "Driver": "overlay", "Scope": "swarm", "Ingress": True,
                   "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4096"}, "Labels": {"x": SECRET_VALUE}},
                  {"Name": "bridge", "Id": "b0", "Driver": "bridge", "Scope": "local", "Options": {}}],
    "/secrets": [{"ID": "s1", "CreatedAt": "2026-01-01T00:00:00Z", "UpdatedAt": "2026-01-01T00:00:00Z",
                  "Spec": {"Name": "db_password", "Labels": {"owner": SECRET_VALUE}, "Data": SECRET_VALUE}}],
    "/services": [{"ID": "v1", "Spec": {"Name": "api", "TaskTemplate": {"ContainerSpec": {
        "Env": [f"DB_PASSWORD={SECRET_VALUE}", "LOG_LEVEL"],
        "Secrets": [{"SecretName": "db_password", "SecretID": "s1", "File": {"Name": "db_password"}}]}}}}],
}


class _Engine(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.requests.append(("GET", self.path))  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        path = "/" + path.split("/", 2)[2] if path.startswith("/v1.") else path
        body = json.dumps({"/version": {"ApiVersion": "1.41", "Version": "20.10.24"}}.get(path, ANSWERS.get(path)))
        self.send_response(200 if body != "null" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def do_POST(self) -> None:  # noqa: N802
        self.server.requests.append(("POST", self.path))  # type: ignore[attr-defined]
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def engine(tmp_path):
    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    path = tmp_path / "engine.sock"
    server = Server(str(path), _Engine)
    server.requests = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield path, server.requests
    server.shutdown()
    server.server_close()


def _facts(info: dict, root: str = "/srv/docker") -> Facts:
    facts = Facts()
    facts.engine = EngineFacts(error=None, info={"Swarm": info, "DockerRootDir": root})
    facts.daemon = DaemonFacts(error="not examined here")
    return facts


def test_a_manager_lists_nodes_networks_secrets_and_services_and_keeps_no_values(engine):
    path, requests = engine
    session = EngineSession(EngineOptions(base_url=f"unix://{path}", timeout=5))
    facts = collect_swarm(session, Host(), _facts(MANAGER_INFO), remote="an engine elsewhere")
    session.close()
    assert {method for method, _ in requests} == {"GET"}
    asked = {p.split("?", 1)[0].rsplit("/", 1)[-1] for _, p in requests}
    assert asked <= {"version", "nodes", "networks", "secrets", "services"}, requests   # never /swarm, /swarm/unlockkey
    assert facts.nodes == [{"ID": "n1", "Hostname": "m1", "Role": "manager", "Availability": "active", "State": "ready",
                            "Addr": "10.0.0.5", "ManagerStatus": {"Leader": True, "Reachability": "reachable",
                                                                  "Addr": "10.0.0.5:4000"}}]
    assert [n["Name"] for n in facts.networks] == ["ingress"]          # overlay networks only
    assert facts.secrets[0]["Name"] == "db_password" and facts.secrets[0]["Labels"] == ["owner"]
    assert facts.services == [{"Name": "api", "Secrets": ["db_password"], "Env": ["DB_PASSWORD", "LOG_LEVEL"]}]
    assert SECRET_VALUE not in json.dumps([facts.nodes, facts.networks, facts.secrets, facts.services])
    assert facts.state_error == "an engine elsewhere" and facts.state is None


def test_a_worker_asks_only_for_the_networks_it_sees(engine):
    path, requests = engine
    session = EngineSession(EngineOptions(base_url=f"unix://{path}", timeout=5))
    facts = collect_swarm(session, Host(), _facts({**MANAGER_INFO, "ControlAvailable": False}), remote="elsewhere")
    session.close()
    assert [p.rsplit("/", 1)[-1] for _, p in requests if "version" not in p] == ["networks"]
    assert facts.nodes is None and facts.secrets is None and "worker" in facts.manager_only
    assert facts.networks is not None


def test_an_inactive_swarm_asks_nothing():
    facts = collect_swarm(EngineSession(EngineOptions(base_url="unix:///nonexistent.sock")), Host(),
                          _facts({"LocalNodeState": "inactive"}), remote=None)
    assert facts.error is None and facts.nodes is None and "inactive" in facts.manager_only


def test_a_refused_list_is_that_lists_error():
    facts = collect_swarm(EngineSession(EngineOptions(base_url="unix:///nonexistent.sock", timeout=1)), Host(),
                          _facts(MANAGER_INFO), remote="elsewhere")
    assert facts.nodes is None and facts.nodes_error and facts.secrets_error


def test_docker_state_json_gives_the_addresses_and_nothing_else(tmp_path):
    state = {"LocalAddr": "", "RemoteAddr": "", "ListenAddr": "10.0.0.5:4000", "AdvertiseAddr": "10.0.0.5:4000",
             "DataPathAddr": "192.168.50.5", "DataPathPort": 4789, "JoinInProgress": False, "Unexpected": "x"}
    make(tmp_path, "/srv/docker/swarm/docker-state.json", json.dumps(state), mode=0o600)
    facts = _facts({"LocalNodeState": "active", "ControlAvailable": False, "NodeAddr": "10.0.0.5"})
    swarm = SwarmFacts(error=None)
    from bench.collect.swarm import _state_file

    _state_file(Host(str(tmp_path)), facts, swarm)
    assert swarm.state_path == "/srv/docker/swarm/docker-state.json"
    assert swarm.state["ListenAddr"] == "10.0.0.5:4000" and swarm.state["DataPathAddr"] == "192.168.50.5"
    assert "Unexpected" not in swarm.state


def test_an_unreadable_state_file_is_its_error(tmp_path):
    from bench.collect.swarm import _state_file

    swarm = SwarmFacts(error=None)
    _state_file(Host(str(tmp_path)), _facts({"LocalNodeState": "active"}), swarm)
    assert swarm.state is None and "cannot read /srv/docker/swarm/docker-state.json" in swarm.state_error


def test_a_facts_file_without_swarm_facts_loads_as_not_collected():
    data = hardened_data()
    del data["swarm"]
    assert facts_of(data).swarm.error


# -- the daemon view -----------------------------------------------------------------------------------

def test_the_swarms_own_listen_port_is_not_the_api():
    swarm = {"Swarm": {**MANAGER_INFO}}
    listeners = [{"kind": "tcp", "address": "10.0.0.5:4000"}, {"kind": "tcp", "address": "10.0.0.5:7946"},
                 {"kind": "tcp", "address": "10.0.0.5:2376"}, {"kind": "unix", "address": "/run/docker.sock"}]
    from bench.daemon.view import build_view

    view = build_view(facts_of(apply_case(hardened_data(), {"facts": {"engine": {"info": swarm},
                                                                      "daemon": {"listeners": listeners}}})))
    assert [(a.kind, a.address) for a in view.listeners().api] == [("tcp", "10.0.0.5:2376"), ("unix", "/run/docker.sock")]
    # Out of swarm mode the same port is an API port like any other.
    api, _ = api_sockets([Listener("tcp", "10.0.0.5:4000")], [], "", swarm_active=False, swarm_ports={4000})
    assert [a.address for a in api] == ["10.0.0.5:4000"]


def test_the_listen_port_comes_from_the_state_file_else_this_managers_address_else_the_default():
    assert listen_port(MANAGER_INFO, {"ListenAddr": "0.0.0.0:5000"}) == (5000, "docker-state.json ListenAddr")
    assert listen_port(MANAGER_INFO, None)[0] == 4000
    assert listen_port({"NodeID": "n2", "RemoteManagers": MANAGER_INFO["RemoteManagers"]}, None)[0] == 2377


# -- values ----------------------------------------------------------------------------------------------

def test_an_overlay_is_encrypted_by_the_key_whatever_its_value():
    assert is_encrypted({"Options": {"encrypted": ""}}) and is_encrypted({"Options": {"encrypted": "false"}})
    assert not is_encrypted({"Options": None}) and not is_encrypted({"Options": {"encrypt": "true"}})


@pytest.mark.parametrize("text,nanoseconds", [("2160h", 90 * 86400 * 10**9), ("90d", 90 * 86400 * 10**9),
                                              ("1h30m", 5400 * 10**9), ("48h", 2 * 86400 * 10**9),
                                              ("1.5h", 5400 * 10**9)])
def test_durations_read_as_go_reads_them_with_days(text, nanoseconds):
    assert parse_duration(text) == nanoseconds


@pytest.mark.parametrize("text", ["", "90", "h", "-5h", "5x", "1h 30m", "0h"])
def test_what_is_not_a_duration_is_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_durations_are_shown_in_days_where_whole():
    assert show_duration(90 * 86400 * 10**9) == "90 days (2160h)" and show_duration(5400 * 10**9) == "1.5h"


def test_addresses_and_wildcards():
    assert (host_part("[::1]:2377"), port_of("[::1]:2377")) == ("::1", 2377)
    assert (host_part("10.0.0.5:2377"), port_of("10.0.0.5:2377")) == ("10.0.0.5", 2377)
    assert (host_part("10.0.0.5"), port_of("10.0.0.5")) == ("10.0.0.5", None)
    assert is_wildcard("0.0.0.0") and is_wildcard("::") and is_wildcard("") and is_wildcard("::ffff:0.0.0.0")
    assert not is_wildcard("127.0.0.1") and not is_wildcard("eth0")


def test_a_certificate_reads_as_openssl_reads_it(tmp_path):
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                           "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "30",
                           "-subj", "/O=example/CN=swarm-ca"], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"openssl cannot make a certificate here: {made.stderr.strip()}")
    dates = subprocess.run(["openssl", "x509", "-noout", "-startdate", "-enddate", "-in", str(cert)],
                           capture_output=True, text=True, check=True).stdout
    fields = dict(line.split("=", 1) for line in dates.splitlines())
    parsed = read_certificate(cert.read_text())
    as_openssl = "%b %e %H:%M:%S %Y GMT"
    assert parsed.not_before.strftime(as_openssl).replace("  ", " ") == " ".join(fields["notBefore"].split())
    assert parsed.not_after.strftime(as_openssl).replace("  ", " ") == " ".join(fields["notAfter"].split())
    assert parsed.subject == "O=example,CN=swarm-ca"
    assert parsed.not_after - parsed.not_before == datetime.timedelta(days=30)


def test_what_is_not_a_certificate_is_refused():
    for text in ("", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "no pem at all"):
        with pytest.raises(ValueError):
            read_certificate(text)
