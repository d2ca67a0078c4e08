"""An adversarial pass over recorded facts: the hardened host (every automated check passes on it)
varied the way real hosts differ, along each class of issue 10, with hypothesis choosing the
variant. Where Docker's own behaviour says the recommendation is violated (or its evidence could not
have been recorded), the verdict must not be PASS; where it says the setting holds, not FAIL.

Each test names the Docker behaviour it leans on; the fixtures in tests/check_fixtures/ show single
cases, these show that no spelling or combination slips through."""
from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.catalog import load_checks
from bench.evaluate import run_check
from bench.facts_file import facts_from_data
from helpers import apply_case, hardened_data

CHECKS = load_checks(plugins=False)
BASE = hardened_data()
WEB = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def status(check_id: str, case: dict, base: dict = BASE) -> str:
    facts = facts_from_data(apply_case(copy.deepcopy(base), case))
    return run_check(CHECKS[check_id], facts).status.value


def web_status(check_id: str, case: dict) -> str:
    facts = facts_from_data(apply_case(copy.deepcopy(BASE), case))
    result = run_check(CHECKS[check_id], facts)
    return next(i.status.value for i in result.items if i.resource == "web")


# -- 1. the running daemon is the truth: daemon.json edited after the daemon started ---------------

RUNNING_VIOLATIONS = {
    "daemon-remote-logging": {"LoggingDriver": st.sampled_from(["json-file", "local", "none"])},
    "daemon-userns-remap": {"SecurityOptions": st.just(["name=apparmor", "name=seccomp,profile=builtin"])},
    "daemon-no-insecure-registries": {"RegistryConfig": st.sampled_from([
        {"InsecureRegistryCIDRs": ["127.0.0.0/8", "10.9.0.0/16"], "IndexConfigs": {}, "Mirrors": []},
        {"InsecureRegistryCIDRs": ["127.0.0.0/8"], "Mirrors": ["http://mirror.lan:5000/"],
         "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": ["http://mirror.lan:5000/"], "Secure": True}}},
        {"InsecureRegistryCIDRs": ["127.0.0.0/8"], "Mirrors": [],
         "IndexConfigs": {"reg.lan:5000": {"Name": "reg.lan:5000", "Mirrors": [], "Secure": False}}}])},
    "daemon-authorization-plugin": {"Plugins": st.just({"Authorization": []})},
}


@SETTINGS
@given(st.data())
def test_what_the_running_daemon_reports_decides_whatever_daemon_json_says(data):
    for check_id, fields in RUNNING_VIOLATIONS.items():
        info = {k: data.draw(v) for k, v in fields.items()}
        assert status(check_id, {"running": "as_before", "daemon_json": {},
                                 "facts": {"engine": {"info": info}}}) != "PASS", (check_id, info)


@SETTINGS
@given(st.sampled_from(["true", "True", "TRUE"]))
def test_the_default_bridge_as_running_decides_icc(value):
    case = {"running": "as_before", "daemon_json": {},
            "facts": {"engine": {"default_bridge": {"Options": {"com.docker.network.bridge.enable_icc": value}}}}}
    assert status("daemon-icc-disabled", case) != "PASS"


@SETTINGS
@given(st.sampled_from([{"log-driver": "json-file"}, {"userns-remap": ""}, {"icc": True},
                        {"insecure-registries": ["10.0.0.0/8"]}]))
def test_a_daemon_json_changed_since_start_never_passes_where_it_disagrees(change):
    # The running daemon still complies; the file on disk does not: a warning at best, never PASS.
    check_id = {"log-driver": "daemon-remote-logging", "userns-remap": "daemon-userns-remap",
                "icc": "daemon-icc-disabled", "insecure-registries": "daemon-no-insecure-registries"}[next(iter(change))]
    assert status(check_id, {"running": "as_before", "daemon_json": change}) != "PASS"


# -- 2. where the daemon listens is observed ---------------------------------------------------------

@SETTINGS
@given(st.sampled_from(["0.0.0.0", "10.0.0.5", "127.0.0.1", "[::]"]), st.integers(1, 65535))
def test_a_tcp_socket_the_process_holds_without_tls_fails(address, port):
    case = {"running": "as_before", "daemon_json": {"tlsverify": "__delete__", "hosts": ["fd://"]},
            "facts": {"daemon": {"listeners": [{"kind": "unix", "address": "/run/docker.sock"},
                                               {"kind": "tcp", "address": f"{address}:{port}"}]}}}
    assert status("daemon-tls-verify", case) == "FAIL"


def test_an_audit_over_plain_tcp_has_seen_2_6_violated():
    assert status("daemon-tls-verify", {"facts": {"engine": {"transport": "tcp"}}}) == "FAIL"


# -- 3. values read as the consuming component reads them --------------------------------------------

@SETTINGS
@given(st.sampled_from(["", "0", "00", "+0", "-0", "root", "0:0", "root:root", ":0", "0:1000", "000:root"]))
def test_any_spelling_of_root_is_root_to_runc(user):
    # A stopped container: no kernel status to fall back on, Config.User alone decides.
    case = {"facts": {"containers": {"scope": "all"}, "processes": {"init_status": {WEB: "__delete__"}}},
            "container": {"name": "web", "inspect": {"Config": {"User": user},
                                                     "State": {"Running": False, "Status": "exited", "Pid": 0}}}}
    assert web_status("container-user", case) == "FAIL", user


@SETTINGS
@given(st.sampled_from(["NET_ADMIN", "CAP_NET_ADMIN", "net_admin", "cap_net_admin", "Net_Admin", "SYS_ADMIN", "ALL"]))
def test_an_added_capability_beyond_the_default_set_fails_in_any_spelling(cap):
    case = {"container": {"name": "web", "inspect": {"HostConfig": {"CapAdd": [cap], "CapDrop": []}}}}
    assert web_status("container-capabilities", case) == "FAIL", cap


@SETTINGS
@given(st.sampled_from(["/etc", "//etc", "/etc/", "/./etc", "/usr/../etc", "/etc//", "///etc/./"]))
def test_a_writable_bind_of_etc_fails_however_the_path_is_spelled(source):
    case = {"container": {"name": "web", "inspect": {"Mounts": [
        {"Type": "bind", "Source": source, "Destination": "/x", "RW": True, "Propagation": "rprivate"}]}}}
    assert web_status("container-sensitive-mounts", case) == "FAIL", source


@SETTINGS
@given(st.integers(1, 1023), st.integers(0, 2000))
def test_a_published_range_reaching_below_1024_fails(low, width):
    case = {"container": {"name": "web", "inspect": {"State": {"Running": False, "Status": "created", "Pid": 0},
                                                     "HostConfig": {"PortBindings": {"80/tcp": [
                                                         {"HostIp": "127.0.0.1", "HostPort": f"{low}-{low + width}"}]}},
                                                     "NetworkSettings": {"Ports": {}}}}}
    assert web_status("container-no-privileged-ports", case) == "FAIL"


@SETTINGS
@given(st.sampled_from([["-D"], ["--debug"], ["-Dl", "info"], ["-Dlinfo"], ["-l", "debug"], ["--log-level=DEBUG"],
                        ["--log-level", "Debug"]]))
def test_debug_logging_fails_in_any_spelling_dockerd_accepts(flags):
    case = {"daemon_json": {"log-level": "__delete__"}, "argv": ["/usr/bin/dockerd", *flags]}
    assert status("daemon-log-level-info", case) == "FAIL", flags


# -- 4. shared namespaces take their source's verdict -------------------------------------------------

@SETTINGS
@given(st.sampled_from(["network", "pid", "ipc"]), st.integers(1, 4))
def test_joining_a_chain_that_ends_in_the_hosts_namespace_fails(kind, length):
    mode = {"network": "NetworkMode", "pid": "PidMode", "ipc": "IpcMode"}[kind]
    chain = [{"id": f"{n:064x}", "name": f"hop{n}", "inspect": {"HostConfig": {mode: f"container:hop{n + 1}"}}}
             for n in range(1, length)]
    chain.append({"id": f"{length:064x}", "name": f"hop{length}", "inspect": {"HostConfig": {mode: "host"}}})
    case = {"facts": {"containers": {"referenced": chain}},
            "container": {"name": "web", "inspect": {"HostConfig": {mode: "container:hop1"}}}}
    assert web_status(f"container-no-host-{kind}", case) == "FAIL"


# -- 5. no evidence is not compliance -----------------------------------------------------------------

@SETTINGS
@given(st.sampled_from([
    {"rules": ["-w /usr/bin/dockerd -p rwxa -k docker"]},                                          # no rule on it
    {"rules": ["-a never,exit -F path=/usr/bin/docker -F perm=x", "-w /usr/bin/docker -p rwxa"]},  # silenced first
    {"rules": ["-a task,never", "-w /usr/bin/docker -p rwxa"]},                                    # no task audited
    {"status": {"enabled": "0", "pid": "812"}},                                                    # auditing off
    {"rules": ["-w /usr/bin/docker -p wa"]},                                                       # no execution
]))
def test_exec_checks_never_pass_on_a_log_that_could_not_have_recorded_an_exec(audit):
    for check_id in ("exec-no-privileged", "exec-no-user"):
        assert status(check_id, {"facts": {"audit": audit}}) != "PASS", audit


@SETTINGS
@given(st.sampled_from(["audit-docker-daemon", "audit-etc-docker", "audit-docker-data-root", "audit-daemon-json"]))
def test_audit_rules_known_only_from_rule_files_never_pass(check_id):
    case = {"facts": {"audit": {"source": "/etc/audit/rules.d/docker.rules", "status": {}}}}
    assert status(check_id, case) != "PASS"


def test_a_running_container_whose_processes_cannot_be_seen_is_not_cleared_of_sshd():
    assert web_status("container-no-sshd", {"facts": {"processes": {"items": []}}}) != "PASS"


# -- 6. a running daemon accepted its config ----------------------------------------------------------

@SETTINGS
@given(st.dictionaries(st.from_regex(r"[a-z]{3,8}(-[a-z]{3,8}){1,2}", fullmatch=True),
                       st.one_of(st.booleans(), st.integers(0, 9), st.text(max_size=5)), min_size=1, max_size=3))
def test_keys_a_newer_dockerd_knows_leave_the_daemon_section_judged(extra):
    for check_id in ("daemon-icc-disabled", "daemon-log-level-info", "daemon-remote-logging", "daemon-tls-verify"):
        assert status(check_id, {"daemon_json": extra}) == "PASS", (check_id, extra)


# -- 9. observed effect beats declared intent; 10. no false FAIL ----------------------------------

@SETTINGS
@given(st.sampled_from(["/host/dev", "/host/proc", "/host/sys/fs/cgroup", "/host/run"]))
def test_a_read_only_bind_of_root_with_writable_submounts_is_writable(sub):
    case = {"container": {"name": "web", "inspect": {"Mounts": [
                {"Type": "bind", "Source": "/", "Destination": "/host", "RW": False, "Propagation": "rprivate"}]}},
            "facts": {"processes": {"mounts": {WEB: [
                {"source": "/dev/vda1", "target": "/host", "fstype": "ext4", "options": "ro,relatime"},
                {"source": "x", "target": sub, "fstype": "tmpfs", "options": "rw,nosuid"}]}}}}
    assert web_status("container-sensitive-mounts", case) == "FAIL"


@SETTINGS
@given(st.sets(st.sampled_from(["NET_BIND_SERVICE", "CHOWN", "SETUID", "SETGID", "KILL", "cap_net_bind_service"]),
               max_size=3))
def test_dropping_all_and_adding_back_default_capabilities_passes(adds):
    case = {"container": {"name": "web", "inspect": {"HostConfig": {"CapDrop": ["ALL"], "CapAdd": sorted(adds)}}}}
    assert web_status("container-capabilities", case) == "PASS", adds
