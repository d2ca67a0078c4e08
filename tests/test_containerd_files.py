"""containerd as the daemon uses it: which socket (the API's word, the containerd dockerd started, its
--containerd, else the system containerd's), containerd's files and shims where containerd finds
them, and the processes recorded to tell (moby cmd/dockerd initContainerD and
libcontainerd/supervisor; containerd runtime/v2/shim Command)."""
import os

from bench.collect.daemon import find_daemon, related_processes
from bench.collect.files import collect_files, locate
from bench.daemon.view import build_view
from bench.facts import DaemonFacts, EngineFacts, Facts, Listener
from bench.facts_file import facts_from_data
from bench.hostio import Host, ProcessInfo
from helpers import apply_case, facts_of, hardened_data, make

SYSTEM_CONTAINERD = {"pid": 850, "ppid": 1, "program": "containerd", "argv": ["/usr/bin/containerd"],
                     "listeners": [{"kind": "unix", "address": "/run/containerd/containerd.sock"}]}
MANAGED = {"pid": 910, "ppid": 900, "program": "containerd",
           "argv": ["containerd", "--config", "/var/run/docker/containerd/containerd.toml", "--log-level", "info"],
           "listeners": [{"kind": "unix", "address": "/var/run/docker/containerd/containerd-debug.sock"},
                         {"kind": "unix", "address": "/var/run/docker/containerd/containerd.sock"},
                         {"kind": "unix", "address": "/var/run/docker/containerd/containerd.sock.ttrpc"}]}
NO_FLAG = ["/usr/bin/dockerd", "-H", "fd://"]


def socket_of(case):
    return build_view(facts_of(apply_case(hardened_data(), case))).containerd_socket()


def test_the_containerd_flag_names_the_socket():
    value = socket_of({})
    assert value.value == "/run/containerd/containerd.sock" and "flag --containerd" in value.source


def test_the_engine_api_reports_the_socket_on_engine_27_and_later():
    value = socket_of({"facts": {"engine": {"info": {"Containerd": {"Address": "/run/containerd/containerd.sock",
                                                                    "Namespaces": {"Containers": "moby"}}}}}})
    assert value.observed and "docker info Containerd.Address" in value.source and not value.conflict


def test_the_containerd_dockerd_started_is_found_by_its_parent_and_listens_on_its_socket():
    value = socket_of({"argv": NO_FLAG, "facts": {"daemon": {"related_processes": [SYSTEM_CONTAINERD, MANAGED]}}})
    assert value.value == "/var/run/docker/containerd/containerd.sock"
    assert value.observed and "the containerd it started (pid 910), which listens on it" in value.source


def test_a_containerd_adopted_from_an_earlier_dockerd_is_known_by_its_config_under_the_exec_root():
    # libcontainerd's supervisor reuses a containerd still running from its pidfile: no longer a child.
    adopted = dict(MANAGED, ppid=1, listeners=None)
    value = socket_of({"argv": NO_FLAG, "facts": {"daemon": {"related_processes": [adopted]}}})
    assert value.value == "/var/run/docker/containerd/containerd.sock"
    assert "its socket under dockerd's exec root" in value.source


def test_a_containerd_left_under_the_exec_root_is_not_used_by_a_daemon_given_another():
    stale = dict(MANAGED, ppid=1)
    value = socket_of({"facts": {"daemon": {"related_processes": [SYSTEM_CONTAINERD, stale]}}})
    assert value.value == "/run/containerd/containerd.sock" and "flag --containerd" in value.source
    assert not value.conflict


def test_a_containerd_under_another_exec_root_is_another_daemons():
    other = dict(MANAGED, ppid=1, argv=["containerd", "--config", "/srv/ci/exec/containerd/containerd.toml"])
    value = socket_of({"argv": NO_FLAG, "facts": {"daemon": {"related_processes": [other]}}})
    assert value.value == "/run/containerd/containerd.sock" and not value.observed


def test_a_custom_exec_root_moves_the_managed_containerd():
    managed = dict(MANAGED, ppid=1, listeners=[], argv=["containerd", "--config=/srv/x/containerd/containerd.toml"])
    value = socket_of({"argv": NO_FLAG + ["--exec-root", "/srv/x"],
                       "facts": {"daemon": {"related_processes": [managed]}}})
    assert value.value == "/srv/x/containerd/containerd.sock"


def test_without_a_flag_or_a_containerd_of_its_own_the_daemon_uses_the_system_socket():
    value = socket_of({"argv": NO_FLAG})
    assert value.value == "/run/containerd/containerd.sock" and "system containerd" in value.source


def test_a_rootlesskit_daemon_looks_under_its_runtime_dir():
    value = socket_of({"argv": NO_FLAG, "facts": {"daemon": {
        "uid": 1000, "rootless": True,
        "environ": {"ROOTLESSKIT_STATE_DIR": "/tmp/rootlesskit123", "XDG_RUNTIME_DIR": "/run/user/1000"}}}})
    assert value.value == "/run/user/1000/containerd/containerd.sock"


def test_daemon_json_naming_another_socket_than_the_running_containerd_is_a_conflict():
    value = socket_of({"argv": NO_FLAG, "running": "as_before", "daemon_json": {"containerd": "/srv/c.sock"},
                       "facts": {"daemon": {"related_processes": [MANAGED]}}})
    assert value.value == "/var/run/docker/containerd/containerd.sock"
    assert "disagrees with the running daemon" in value.conflict


def test_daemon_json_changed_since_start_casts_doubt_on_its_containerd():
    value = socket_of({"argv": NO_FLAG, "running": "as_before", "daemon_json": {"containerd": "/srv/c.sock"}})
    assert value.value == "/srv/c.sock" and "after dockerd started" in value.caveat


def test_processes_not_recorded_leave_the_socket_unknown():
    value = socket_of({"argv": NO_FLAG, "facts": {"daemon": {"related_processes": None}}})
    assert value.error and "unknown" in value.error


def test_a_facts_file_of_an_earlier_release_loads_without_the_processes():
    data = hardened_data()
    del data["daemon"]["related_processes"]
    assert facts_from_data(data).daemon.related_processes is None


def test_docker_proxy_children_show_the_userland_proxy_on_and_other_processes_do_not():
    proxy = {"pid": 4321, "ppid": 900, "program": "docker-proxy",
             "argv": ["/usr/sbin/docker-proxy", "-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "8080",
                      "-container-ip", "172.17.0.2", "-container-port", "80"]}
    view = build_view(facts_of(apply_case(hardened_data(), {
        "running": "as_before", "facts": {"daemon": {"related_processes": [SYSTEM_CONTAINERD, proxy]}}})))
    value = view.value("userland-proxy")
    assert value.observed and value.value is True and "pid 4321" in value.source
    assert "disagrees with the running daemon" in value.conflict
    assert any("userland-proxy" in f for f in view.findings)
    another_daemons = dict(proxy, ppid=12)
    view = build_view(facts_of(apply_case(hardened_data(), {
        "facts": {"daemon": {"related_processes": [another_daemons]}}})))
    assert not view.value("userland-proxy").observed and view.value("userland-proxy").value is False


# -- collection ------------------------------------------------------------------------------------------

class ProcessTable(Host):
    """A host root (a directory tree) whose process table and sockets are given."""

    def __init__(self, root, processes, listeners):
        super().__init__(str(root))
        self._given, self._sockets = processes, listeners

    def processes(self):
        return list(self._given)

    def listeners(self, pid):
        if pid not in self._sockets:
            raise PermissionError(13, "not ours to look at")
        return [Listener(kind, address) for kind, address in self._sockets[pid]]

    def proc_link(self, path):
        raise PermissionError(13, "not ours to look at", path)

    def environment_of(self, pid, names):
        given = {"PATH": "/usr/local/bin:/usr/bin", "HTTPS_PROXY": "http://user:secret@proxy:3128"}
        return {name: value for name, value in given.items() if name in names}


DOCKERD = ProcessInfo(900, "dockerd", ["/usr/sbin/dockerd", "-H", "unix:///run/docker.sock"], "/usr/sbin/dockerd", 0,
                      ppid=1)
CONTAINERD = ProcessInfo(910, "containerd", ["containerd", "--config", "/var/run/docker/containerd/containerd.toml"],
                         "/usr/bin/containerd", 0, ppid=900)
PROXY = ProcessInfo(920, "docker-proxy", ["/usr/sbin/docker-proxy", "-proto", "tcp", "-host-ip", "127.0.0.1",
                                          "-host-port", "8080", "-container-ip", "10.1.0.2", "-container-port", "80"],
                    "/usr/sbin/docker-proxy", 0, ppid=900)
SHIM = ProcessInfo(930, "containerd-shim", ["/usr/bin/containerd-shim-runc-v2", "-namespace", "moby"],
                   "/usr/bin/containerd-shim-runc-v2", 0, ppid=1)
STRANGER = ProcessInfo(940, "nc", ["nc", "-host-port", "1"], "/bin/nc", 0, ppid=1)


def test_the_daemons_containerd_and_proxies_are_recorded_with_nothing_else(tmp_path):
    host = ProcessTable(tmp_path, [DOCKERD, CONTAINERD, PROXY, SHIM, STRANGER],
                        {900: [("unix", "/run/docker.sock")],
                         910: [("unix", "/var/run/docker/containerd/containerd.sock"), ("tcp", "127.0.0.1:1")]})
    found = related_processes(host, 900)
    assert [(p.pid, p.program) for p in found] == [(910, "containerd"), (920, "docker-proxy")]
    assert found[0].listeners == [Listener("unix", "/var/run/docker/containerd/containerd.sock")]
    assert found[1].listeners is None and "-host-port" in found[1].argv


def test_find_daemon_records_them_and_the_daemons_path(tmp_path):
    host = ProcessTable(tmp_path, [DOCKERD, CONTAINERD], {900: [("unix", "/run/docker.sock")]})
    facts = find_daemon(host, "/run/docker.sock", None)
    assert facts.pid == 900 and [p.pid for p in facts.related_processes] == [910]
    assert facts.related_processes[0].listeners is None   # its sockets could not be read
    assert facts.environ == {"PATH": "/usr/local/bin:/usr/bin"}


def _located(root, daemon, info=None):
    facts = Facts(daemon=daemon, engine=EngineFacts(error=None, info=info or {}))
    return locate(Host(str(root)), facts)


def _daemon(argv=("dockerd",), related=(), **extra):
    fields = dict(error=None, pid=900, exe="/usr/sbin/dockerd", argv=list(argv), uid=0,
                  config_file="/etc/docker/daemon.json", config_text="{}", related_processes=list(related))
    fields.update(extra)
    return DaemonFacts(**fields)


def test_locate_the_system_socket_and_containerds_files(tmp_path):
    make(tmp_path, "/etc/containerd/config.toml", "version = 2\n")
    os.makedirs(tmp_path / "run/containerd", exist_ok=True)
    make(tmp_path, "/run/containerd/containerd.sock", "", 0o660)   # a file stands in for the socket
    found, notes = _located(tmp_path, _daemon())
    assert found["containerd-socket"] == ["/run/containerd/containerd.sock"]
    assert "system containerd" in notes["containerd-socket"]
    assert found["run-containerd"] == ["/run/containerd"]
    assert found["containerd-config"] == ["/etc/containerd/config.toml"]


def test_locate_leaves_an_absent_socket_out_with_the_reason(tmp_path):
    found, notes = _located(tmp_path, _daemon())
    assert found["containerd-socket"] == [] and "/run/containerd/containerd.sock does not exist" in notes["containerd-socket"]
    assert found["run-containerd"] == [] and found["containerd-config"] == []


def test_locate_the_socket_of_the_containerd_dockerd_started(tmp_path):
    make(tmp_path, "/var/run/docker/containerd/containerd.sock", "", 0o660)
    from bench.facts import RelatedProcess
    managed = RelatedProcess(910, 900, "containerd", ["containerd", "--config",
                                                      "/var/run/docker/containerd/containerd.toml"], [])
    found, notes = _located(tmp_path, _daemon(related=[managed]))
    assert found["containerd-socket"] == ["/var/run/docker/containerd/containerd.sock"]
    assert "the containerd it started (pid 910)" in notes["containerd-socket"]


def test_an_unknown_containerd_leaves_the_role_unknown(tmp_path):
    facts = collect_files(Host(str(tmp_path)), Facts(daemon=_daemon(related_processes=None),
                                                     engine=EngineFacts(error=None)))
    assert "containerd-socket" not in facts.locations
    assert "unknown" in facts.notes["containerd-socket"]
    unexamined = collect_files(Host(str(tmp_path)), Facts(daemon=DaemonFacts(error="no dockerd process found"),
                                                          engine=EngineFacts(error=None)))
    assert "containerd-socket" not in unexamined.locations


def test_shims_are_found_first_on_the_path_as_containerd_finds_them(tmp_path):
    for directory in ("/usr/local/bin", "/usr/bin"):
        make(tmp_path, f"{directory}/containerd-shim-runc-v2", "", 0o755)
    make(tmp_path, "/usr/bin/containerd", "", 0o755)
    found, notes = _located(tmp_path, _daemon())
    assert found["containerd-shim-runc-v2"] == ["/usr/local/bin/containerd-shim-runc-v2"]
    assert found["containerd-shim"] == [] and "systemd's default PATH" in notes["containerd-shim"]


def test_the_containerd_dockerd_started_searches_dockerds_path_then_beside_itself(tmp_path):
    from bench.facts import RelatedProcess
    make(tmp_path, "/usr/local/bin/containerd-shim-runc-v2", "", 0o755)
    make(tmp_path, "/opt/docker/bin/containerd-shim-runc-v1", "", 0o755)
    managed = RelatedProcess(910, 900, "containerd", ["/opt/docker/bin/containerd", "--config",
                                                      "/var/run/docker/containerd/containerd.toml"], [])
    found, notes = _located(tmp_path, _daemon(related=[managed], environ={"PATH": "/usr/bin:relative/bin"}))
    # /usr/local/bin is not on dockerd's PATH: containerd would not find that copy.
    assert found["containerd-shim-runc-v2"] == []
    assert found["containerd-shim-runc-v1"] == ["/opt/docker/bin/containerd-shim-runc-v1"]
    assert "beside containerd" in notes["containerd-shim-runc-v1"]


def test_a_rootless_daemon_leaves_the_system_containerds_files_to_the_system(tmp_path):
    os.makedirs(tmp_path / "run/containerd")
    found, notes = _located(tmp_path, _daemon(uid=1000, rootless=True))
    assert found["run-containerd"] == [] and "rootless daemon" in notes["run-containerd"]


def test_a_recording_of_release_0_1_0_is_never_passed_on_containerds_files():
    from bench.catalog import load_checks
    from bench.evaluate import run_check
    from bench.facts_file import read_facts_file
    from helpers import FIXTURES

    facts = read_facts_file(str(FIXTURES / "recorded-0.1.0.json"))
    checks = {c.id: c for c in load_checks(plugins=False)}
    for check_id in ("audit-run-containerd", "audit-containerd-socket", "audit-containerd-config",
                     "audit-containerd-shim-runc-v2", "file-containerd-sock-owner", "file-containerd-sock-mode"):
        result = run_check(checks[check_id], facts)
        assert result.status.value == "ERROR" and "cannot tell where" in result.details, (check_id, result.details)
