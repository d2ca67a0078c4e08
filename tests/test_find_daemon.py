"""Which dockerd is audited: the one behind the API socket, whatever else runs (docker-bench-security
v1.1.0 took the newest process named dockerd, and never recognised Engine 1.11's `docker daemon`)."""

from bench.collect.daemon import find_daemon, is_daemon_process
from bench.facts import Listener
from bench.hostio import Host, ProcessInfo
from helpers import by_id, run_main, write_case


class ProcessTable(Host):
    """A host whose process table and open sockets are given (the rest is this machine's files)."""

    def __init__(self, processes, listeners, readable=True):
        super().__init__("/")
        self._given, self._listeners, self._readable = processes, listeners, readable

    def processes(self):
        return list(self._given)

    def listeners(self, pid):
        if not self._readable:
            raise PermissionError(13, "not ours to look at")
        return [Listener("unix", path) for path in self._listeners.get(pid, [])]

    def proc_link(self, path):
        raise PermissionError(13, "not ours to look at", path)

    def environment_of(self, pid, names):
        raise PermissionError(13, "not ours to look at")


SYSTEM = ProcessInfo(100, "dockerd", ["/usr/bin/dockerd", "-H", "fd://", "--icc=false"], "/usr/bin/dockerd", 0)
CI = ProcessInfo(900, "dockerd", ["dockerd", "-H", "unix:///run/ci/docker.sock", "--data-root", "/srv/ci"],
                 "/usr/bin/dockerd", 0)  # started later: the newest
OLD = ProcessInfo(50, "docker", ["/usr/bin/docker", "daemon", "-H", "unix:///var/run/docker.sock", "--icc=false"],
                  "/usr/bin/docker", 0)
CLIENT = ProcessInfo(60, "docker", ["docker", "ps"], "/usr/bin/docker", 0)


def test_the_daemon_serving_the_socket_is_chosen_not_the_newest():
    host = ProcessTable([SYSTEM, CI], {100: ["/run/docker.sock"], 900: ["/run/ci/docker.sock"]})
    facts = find_daemon(host, "/run/docker.sock", "/var/lib/docker")
    assert facts.pid == 100 and facts.found_by == "its process listens on /run/docker.sock"
    assert facts.other_daemons == [900] and "--icc=false" in facts.argv


def test_without_access_to_their_sockets_the_command_line_decides():
    host = ProcessTable([SYSTEM, CI], {}, readable=False)
    facts = find_daemon(host, "/run/ci/docker.sock", "/srv/ci")
    assert facts.pid == 900 and "command line names" in facts.found_by


def test_no_daemon_behind_the_socket_is_an_error_not_a_guess():
    host = ProcessTable([SYSTEM], {100: ["/run/docker.sock"]})
    facts = find_daemon(host, "/tmp/elsewhere.sock", None)
    assert facts.pid is None and "no running Docker daemon listens on /tmp/elsewhere.sock" in facts.error


def test_engine_1_11_runs_as_docker_daemon_and_is_recognised():
    assert is_daemon_process(OLD) and not is_daemon_process(CLIENT)
    host = ProcessTable([CLIENT, OLD], {50: ["/var/run/docker.sock"]})
    facts = find_daemon(host, "/var/run/docker.sock", None)
    assert facts.pid == 50 and facts.argv[1] == "daemon"


ENGINE_1_11 = {
    "argv": ["/usr/bin/docker", "daemon", "-H", "fd://", "--icc=false", "--log-level=info"],
    "daemon_json_text": "{}",
    "facts": {
        "engine": {"version": {"Version": "1.11.2", "ApiVersion": "1.23"}},
        "files": {"locations": {"docker-containerd": ["/usr/bin/docker-containerd"],
                                "docker-runc": ["/usr/bin/docker-runc"], "daemon-binary": ["/usr/bin/docker"]},
                  "files": {p: {"path": p, "exists": True, "kind": "file", "mode": 0o755, "uid": 0, "gid": 0,
                                "owner": "root", "group": "root"}
                            for p in ("/usr/bin/docker-containerd", "/usr/bin/docker-runc")}},
        "audit": {"rules": ["-w /usr/bin/docker -k docker", "-w /var/lib/docker -k docker",
                            "-w /usr/bin/docker-containerd -k docker"]},
    },
}


def audit_json(tmp_path, case, *extra):
    return by_id(run_main(["--facts", write_case(tmp_path / "facts.json", case), "-f", "json", *extra])[1])


def test_a_recorded_engine_1_11_host_is_audited_with_its_own_flags_and_binaries(tmp_path):
    results = audit_json(tmp_path, ENGINE_1_11)
    assert results["2.1"]["status"] == "PASS" and "flag --icc=false" in results["2.1"]["details"]
    assert results["2.2"]["status"] == "PASS"
    # An engine that still speaks v1 must be told not to.
    assert results["2.13"]["status"] == "FAIL" and "1.11.2" in results["2.13"]["details"]
    assert results["1.7"]["status"] == "PASS"                     # /usr/bin/docker is the daemon here
    assert results["1.14"]["status"] == "PASS"                    # docker-containerd exists and is audited
    assert results["1.15"]["status"] == "FAIL"                    # docker-runc exists and is not
    with_flag = dict(ENGINE_1_11, argv=ENGINE_1_11["argv"] + ["--disable-legacy-registry"])
    assert audit_json(tmp_path, with_flag)["2.13"]["status"] == "PASS"


def test_a_tcp_endpoint_on_loopback_is_the_local_daemon_that_holds_its_port():
    class TcpTable(ProcessTable):
        def listeners(self, pid):
            return {100: [Listener("unix", "/run/docker.sock")],
                    900: [Listener("tcp", "0.0.0.0:2376"), Listener("unix", "/run/ci/docker.sock")]}.get(pid, [])

    host = TcpTable([SYSTEM, CI], {})
    facts = find_daemon(host, None, "/srv/ci", tcp_address="127.0.0.1:2376")
    assert facts.pid == 900 and facts.found_by == "its process listens on 127.0.0.1:2376"
    # Nobody here holds the port: a tunnel to another host, not this host's daemon.
    assert "no Docker daemon of this host listens" in find_daemon(host, None, None, tcp_address="127.0.0.1:2999").error
