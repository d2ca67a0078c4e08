"""Collectors against a real directory tree standing in for a host root (Host(root=...))."""
import os
import time

import pytest

from bench.collect.files import collect_files, locate, stat_file
from bench.collect.system import (collect_audit, collect_docker_group, collect_mounts, docker_cli, parse_fstab,
                                 parse_mountinfo)
from bench.facts import DaemonFacts, EngineFacts, Facts, Listener
from bench.hostio import Host
from helpers import make


@pytest.fixture
def fake_root(tmp_path):
    root = tmp_path / "host"
    make(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1000:998::/home/alice:/bin/sh\n")
    make(root, "/etc/group", "root:x:0:\ndocker:x:998:bob,carol\n")
    make(root, "/usr/lib/systemd/system/docker.service", "[Service]\nExecStart=/usr/bin/dockerd\n")
    make(root, "/usr/lib/systemd/system/docker.socket", "[Socket]\nListenStream=/run/docker.sock\n", 0o664)
    (root / "lib").symlink_to("usr/lib")  # merged /usr
    make(root, "/etc/docker/daemon.json", '{"icc": false}')
    make(root, "/etc/docker/certs.d/registry.example:5000/ca.crt", "cert", 0o644)
    make(root, "/etc/docker/certs.d/registry.example:5000/client.key", "key", 0o400)
    make(root, "/etc/default/docker", "DOCKER_OPTS=", 0o644)
    return root


def daemon_facts(argv=("dockerd", "-H", "fd://")):
    return DaemonFacts(error=None, pid=1, exe="/usr/bin/dockerd", argv=list(argv), uid=0,
                       config_file="/etc/docker/daemon.json", config_text='{"icc": false}')


def test_locate_finds_units_certs_and_socket_activation(fake_root):
    host = Host(str(fake_root))
    daemon = daemon_facts()
    found, notes = locate(host, Facts(daemon=daemon, engine=EngineFacts(error=None)))
    assert [host.resolve(p) for p in found["docker.service"]] == ["/usr/lib/systemd/system/docker.service"]
    assert found["registry-certs"] == ["/etc/docker/certs.d/registry.example:5000/ca.crt",
                                       "/etc/docker/certs.d/registry.example:5000/client.key"]
    assert found["tls-ca"] == [] and "not configured for TLS" in notes["tls-ca"]
    assert found["daemon.json"] == ["/etc/docker/daemon.json"]
    assert found["docker-runc"] == [] and "does not exist" in notes["docker-runc"]
    assert found["api-socket"] == []  # fd:// -> docker.socket says /run/docker.sock, absent in this tree


def test_an_override_in_etc_wins_over_the_packaged_unit(fake_root):
    make(fake_root, "/etc/systemd/system/docker.service", "[Service]\n")
    host = Host(str(fake_root))
    found, _ = locate(host, Facts(daemon=daemon_facts(), engine=EngineFacts(error=None)))
    assert found["docker.service"] == ["/etc/systemd/system/docker.service"]


def test_tls_files_come_from_the_effective_configuration(fake_root):
    make(fake_root, "/srv/tls/ca.pem", "ca", 0o444)
    host = Host(str(fake_root))
    daemon = daemon_facts(["dockerd", "--tlsverify", "--tlscacert=/srv/tls/ca.pem"])
    found, _ = locate(host, Facts(daemon=daemon, engine=EngineFacts(error=None)))
    assert found["tls-ca"] == ["/srv/tls/ca.pem"]
    assert found["tls-key"] == ["/root/.docker/key.pem"]  # dockerd's default for a root daemon


def test_stat_reports_owner_mode_and_kind(fake_root):
    host = Host(str(fake_root))
    socket_unit = stat_file(host, "/lib/systemd/system/docker.socket")
    assert socket_unit.exists and socket_unit.kind == "file" and socket_unit.mode == 0o664
    assert socket_unit.owner == host.user_name(os.getuid())
    directory = stat_file(host, "/etc/docker")
    assert directory.kind == "dir"
    assert not stat_file(host, "/etc/nothing").exists


def test_a_symlink_is_judged_by_its_target_inside_the_root(fake_root):
    target = make(fake_root, "/opt/real/daemon.json", "{}", 0o600)
    link = fake_root / "etc/docker/linked.json"
    link.symlink_to("/opt/real/daemon.json")  # absolute: must resolve inside the host root
    facts = stat_file(Host(str(fake_root)), "/etc/docker/linked.json")
    assert facts.exists and facts.mode == 0o600 and facts.link == "/opt/real/daemon.json"
    assert facts.resolved == "/opt/real/daemon.json"
    assert target.exists()


def test_symlink_loops_and_dangling_links_do_not_hang_or_pass(fake_root):
    (fake_root / "etc/docker/loop-a").symlink_to("loop-b")
    (fake_root / "etc/docker/loop-b").symlink_to("loop-a")
    (fake_root / "etc/docker/dangling").symlink_to("/nowhere")
    host = Host(str(fake_root))
    loop = stat_file(host, "/etc/docker/loop-a")
    assert loop.error == "symlink loop" and not loop.exists
    dangling = stat_file(host, "/etc/docker/dangling")
    assert not dangling.exists and dangling.kind == "symlink"


def test_a_fifo_at_a_checked_path_is_stat_ed_never_opened(fake_root):
    fifo = fake_root / "etc/default/docker-fifo"
    os.mkfifo(fifo)
    host = Host(str(fake_root))
    started = time.monotonic()
    facts = stat_file(host, "/etc/default/docker-fifo")
    assert facts.kind == "fifo" and facts.exists
    with pytest.raises(OSError):
        host.read_text("/etc/default/docker-fifo")  # refused, not blocked
    assert time.monotonic() - started < 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file_is_an_error(fake_root):
    secret = make(fake_root, "/etc/docker/secret/daemon.json", "{}")
    os.chmod(secret.parent, 0)
    try:
        assert stat_file(Host(str(fake_root)), "/etc/docker/secret/daemon.json").error == "permission denied"
    finally:
        os.chmod(secret.parent, 0o755)


def test_collect_files_examines_each_path_once(fake_root, monkeypatch):
    host = Host(str(fake_root))
    calls = []
    real_lstat = os.lstat
    monkeypatch.setattr(os, "lstat", lambda p, *a, **k: calls.append(str(p)) or real_lstat(p, *a, **k))
    daemon = daemon_facts()
    facts = collect_files(host, Facts(daemon=daemon, engine=EngineFacts(error=None)),
                          extra_paths=["/etc/docker/daemon.json", "/etc/hosts"])
    assert "/etc/hosts" in facts.files
    assert calls and len(calls) == len(set(calls)), [p for p in set(calls) if calls.count(p) > 1]


def test_unknown_daemon_configuration_leaves_config_roles_unknown(fake_root):
    daemon = daemon_facts()
    daemon.config_text = '{"icc": "nope"}'
    facts = collect_files(Host(str(fake_root)), Facts(daemon=daemon, engine=EngineFacts(error=None)))
    assert "tls-ca" not in facts.locations and "must be true or false" in facts.notes["tls-ca"]
    assert "data-root" not in facts.locations  # not guessed either


def test_audit_rules_from_rule_files_when_auditctl_is_unusable(fake_root):
    # augenrules rebuilds audit.rules from rules.d at auditd's start: rules.d is what loads, in
    # version order, the last bare -D first and the last -e last; a hand edit of audit.rules is lost.
    make(fake_root, "/etc/audit/rules.d/10-docker.rules", "# docker\n-w /usr/bin/dockerd -k docker\n-e 2\n")
    make(fake_root, "/etc/audit/rules.d/9-base.rules", "-w /etc/docker -k docker\n\n-D\n")
    make(fake_root, "/etc/audit/rules.d/notes.txt", "-w /ignored\n")
    make(fake_root, "/etc/audit/audit.rules", "-D\n-w /hand/edited -k lost\n")
    facts = collect_audit(Host(str(fake_root)), use_auditctl=False)
    assert facts.rules == ["-D", "-w /etc/docker -k docker", "-w /usr/bin/dockerd -k docker", "-e 2"]
    assert facts.origins == ["/etc/audit/rules.d/9-base.rules:3", "/etc/audit/rules.d/9-base.rules:1",
                             "/etc/audit/rules.d/10-docker.rules:2", "/etc/audit/rules.d/10-docker.rules:3"]
    assert facts.source == "/etc/audit/rules.d/*.rules as augenrules concatenates them" and not facts.status


def test_audit_rules_from_audit_rules_when_rules_d_holds_none(fake_root):
    make(fake_root, "/etc/audit/rules.d/README", "not rules\n")
    make(fake_root, "/etc/audit/audit.rules", "## generated\n-D\n\n-w /etc/docker -k docker\n")
    facts = collect_audit(Host(str(fake_root)), use_auditctl=False)
    assert facts.rules == ["-D", "-w /etc/docker -k docker"]
    assert facts.origins == ["/etc/audit/audit.rules:2", "/etc/audit/audit.rules:4"]
    assert facts.source == "/etc/audit/audit.rules"


class _Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str = ""):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def test_loaded_audit_rules_come_with_auditctl_status(fake_root, monkeypatch):
    host = Host(str(fake_root))
    answers = {"-l": _Ran(0, "-w /etc/docker -p rwxa -k docker\n"),
               "-s": _Ran(0, "enabled 1\nfailure 1\npid 812\nloginuid_immutable 0 unlocked\n")}
    monkeypatch.setattr(Host, "is_local_root", property(lambda self: True))
    monkeypatch.setattr(host, "run", lambda argv, timeout=None: answers[argv[-1]])
    monkeypatch.setattr("bench.collect.system._find_binary", lambda host, name: "/sbin/auditctl")
    facts = collect_audit(host)
    assert facts.source == "auditctl -l" and facts.rules == ["-w /etc/docker -p rwxa -k docker"]
    assert facts.status == {"enabled": "1", "failure": "1", "pid": "812", "loginuid_immutable": "0 unlocked"}
    answers["-s"] = _Ran(1, "", "Error sending status request (Operation not permitted)")
    facts = collect_audit(host)
    assert facts.status == {} and any("auditctl -s failed" in n for n in facts.notes)


def test_no_audit_system_at_all_is_known_to_have_no_rules(fake_root):
    facts = collect_audit(Host(str(fake_root)), use_auditctl=False)
    assert facts.error is None and facts.rules == [] and facts.source == "no auditctl and no rule files"


def test_docker_group_lists_members_and_primary_members(fake_root):
    group = collect_docker_group(Host(str(fake_root)))
    assert group.exists and group.gid == 998 and group.members == ["bob", "carol"] and group.primary_members == ["alice"]
    assert not collect_docker_group(Host(str(fake_root)), "dockerusers").exists


MOUNTINFO = """\
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
42 27 254:0 /var/lib/docker /var/lib/docker rw,relatime shared:1 - ext4 /dev/vda rw
50 27 253:2 / /srv/docker\\040data rw,relatime master:3 - xfs /dev/mapper/vg-docker rw
"""


def test_mountinfo_parsing_keeps_root_device_and_propagation():
    mounts = parse_mountinfo(MOUNTINFO)
    assert [(m.target, m.root, m.device, m.propagation) for m in mounts] == [
        ("/", "/", "254:0", "shared"), ("/var/lib/docker", "/var/lib/docker", "254:0", "shared"),
        ("/srv/docker data", "/", "253:2", "slave")]


def test_fstab_parsing_skips_comments():
    entries = parse_fstab("# comment\nUUID=abc / ext4 defaults 0 1\n/dev/vg/docker /var/lib/docker xfs defaults 0 2\n\n")
    assert [(e.spec, e.file) for e in entries] == [("UUID=abc", "/"), ("/dev/vg/docker", "/var/lib/docker")]


def test_mounts_come_from_the_daemons_namespace_when_known(fake_root):
    make(fake_root, "/proc/4242/mountinfo", MOUNTINFO)
    facts = collect_mounts(Host(str(fake_root)), daemon_pid=4242)
    assert facts.source == "/proc/4242/mountinfo" and len(facts.mounts) == 3


def test_mount_table_unreadable_is_an_error(fake_root):
    facts = collect_mounts(Host(str(fake_root)), daemon_pid=4242)
    assert facts.error and "cannot read the mount table" in facts.error


def test_bind_sources_are_resolved_as_the_host_resolves_them(fake_root):
    from bench.collect.system import resolve_sources
    from bench.facts import ContainerFacts, ContainersFacts

    (fake_root / "bin").symlink_to("usr/bin")
    (fake_root / "usr" / "bin").mkdir(parents=True, exist_ok=True)
    mounts = [{"Type": "bind", "Source": "/bin", "Destination": "/x", "RW": True},
              {"Type": "bind", "Source": "/etc/docker", "Destination": "/y", "RW": False},
              {"Type": "volume", "Name": "v", "Driver": "local", "Destination": "/z", "RW": True}]
    containers = ContainersFacts(error=None, items=[ContainerFacts(id="c" * 64, name="web", inspect={"Mounts": mounts})],
                                 volumes={"v": {"Options": {"type": "none", "o": "bind", "device": "/lib/x"}}})
    resolved = resolve_sources(Host(str(fake_root)), containers)
    assert resolved["/bin"] == "/usr/bin" and resolved["/etc/docker"] == "/etc/docker"
    assert resolved["/lib/x"] == "/usr/lib/x"   # a bind volume's device, through the merged /usr


# -- the docker CLI (content trust is a client setting) -------------------------------------------

def _fake_cli(directory, output: str, code: int = 0):
    script = directory / "docker"
    script.write_text(f"#!/bin/sh\n[ \"$1\" = --version ] || exit 9\necho '{output}'\nexit {code}\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize("banner,version", [("Docker version 28.2.2, build e6534b4", "28.2.2"),
                                            ("Docker version 29.0.1, build 1", "29.0.1"),
                                            ("podman version 4.9.3", "")])
def test_the_docker_cli_on_the_audits_path_and_its_version(tmp_path, banner, version):
    path = _fake_cli(tmp_path, banner)
    cli, error = docker_cli(Host(environ={"PATH": str(tmp_path)}))
    assert error is None and (cli.path, cli.version, cli.banner) == (path, version, banner)


def test_no_docker_cli_on_path_is_recorded_as_none_found(tmp_path):
    cli, error = docker_cli(Host(environ={"PATH": str(tmp_path)}))
    assert error is None and cli.path == "" and cli.version == ""


def test_a_failing_docker_cli_is_an_error_not_a_version(tmp_path):
    _fake_cli(tmp_path, "broken", code=3)
    cli, error = docker_cli(Host(environ={"PATH": str(tmp_path)}))
    assert cli is None and "exited 3" in error


def test_the_cli_of_a_mounted_root_is_never_run(tmp_path):
    _fake_cli(tmp_path, "Docker version 28.2.2, build x")
    cli, error = docker_cli(Host(root=str(tmp_path), environ={"PATH": str(tmp_path)}))
    assert cli is None and "--root" in error


@pytest.mark.parametrize("argv0, expected", [("/usr/sbin/dockerd", ["/usr/sbin/dockerd"]), ("dockerd", [])])
def test_the_daemon_binary_comes_from_its_command_line_when_exe_cannot_be_read(fake_root, argv0, expected):
    # From a container without CAP_SYS_PTRACE /proc/PID/exe cannot be read; a relative program name
    # says nothing about which file runs, so nothing is guessed.
    daemon = daemon_facts(argv=(argv0, "-H", "fd://"))
    daemon.exe = None
    found, notes = locate(Host(str(fake_root)), Facts(daemon=daemon, engine=EngineFacts(error=None)))
    assert found["daemon-binary"] == expected
    assert ("daemon-binary" in notes) == (not expected)


def test_the_daemon_binary_is_its_exe_when_readable(fake_root):
    daemon = daemon_facts(argv=("/opt/other/dockerd", "-H", "fd://"))
    found, _ = locate(Host(str(fake_root)), Facts(daemon=daemon, engine=EngineFacts(error=None)))
    assert found["daemon-binary"] == ["/usr/bin/dockerd"]


def _proc_with_a_listening_socket(root):
    make(root, "/proc/4242/net/unix",
         "Num       RefCount Protocol Flags    Type St Inode Path\n"
         "0000000000000000: 00000002 00000000 00010000 0001 01 111 /run/docker.sock\n"
         "0000000000000000: 00000002 00000000 00010000 0001 01 222 /run/other.sock\n")
    for table in ("tcp", "tcp6"):
        make(root, f"/proc/4242/net/{table}", "  sl  local_address rem_address   st\n")
    (root / "proc/4242/fd").mkdir()
    os.symlink("socket:[111]", root / "proc/4242/fd/3")
    os.symlink("/dev/null", root / "proc/4242/fd/0")


def test_the_sockets_a_process_holds_come_from_its_fds(fake_root):
    _proc_with_a_listening_socket(fake_root)
    assert Host(str(fake_root)).listeners(4242) == [Listener("unix", "/run/docker.sock")]


def test_fd_links_that_may_not_be_read_are_an_error_not_no_sockets(fake_root, monkeypatch):
    # In a container without CAP_SYS_PTRACE /proc/PID/fd lists, but its links cannot be read:
    # "listens on nothing" would be a false reading (the daemon's TCP socket unseen).
    _proc_with_a_listening_socket(fake_root)
    real_readlink = os.readlink

    def denied(path, *args, **kwargs):
        if "/proc/4242/fd/" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_readlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "readlink", denied)
    with pytest.raises(PermissionError):
        Host(str(fake_root)).listeners(4242)


def test_an_fd_closed_while_looked_at_is_skipped(fake_root, monkeypatch):
    _proc_with_a_listening_socket(fake_root)
    real_readlink = os.readlink

    def closing(path, *args, **kwargs):
        if str(path).endswith("/proc/4242/fd/0"):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_readlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "readlink", closing)
    assert Host(str(fake_root)).listeners(4242) == [Listener("unix", "/run/docker.sock")]


def test_the_daemons_socket_paths_are_resolved_with_the_bind_sources(fake_root):
    from bench.collect.system import resolve_sources
    from bench.facts import ContainerFacts, ContainersFacts

    (fake_root / "run").mkdir(exist_ok=True)
    (fake_root / "var").mkdir(exist_ok=True)
    (fake_root / "var" / "run").symlink_to("../run")
    containers = ContainersFacts(error=None, items=[ContainerFacts(id="c" * 64, name="web", inspect={"Mounts": [
        {"Type": "bind", "Source": "/var/run", "Destination": "/x", "RW": True}]})])
    resolved = resolve_sources(Host(str(fake_root)), containers, also=["/var/run/docker.sock", "relative.sock"])
    assert resolved == {"/var/run": "/run", "/var/run/docker.sock": "/run/docker.sock"}


def test_a_files_change_time_is_its_content_its_inode_or_the_link_naming_it(tmp_path):
    # `cp -p` of a staged daemon.json sets its mtime back; its ctime, and a re-pointed link's, cannot be.
    etc = tmp_path / "etc" / "docker"
    etc.mkdir(parents=True)
    staged = etc / "staged.json"
    staged.write_text("{}")
    os.utime(staged, (1_000_000, 1_000_000))
    host = Host(root=str(tmp_path))
    before = time.time() - 5
    assert host.changed_at("/etc/docker/staged.json") > before     # the ctime of the write, not the old mtime
    link = etc / "daemon.json"
    os.symlink("staged.json", link)
    assert host.changed_at("/etc/docker/daemon.json") >= os.lstat(link).st_ctime > before


def test_a_files_access_acl_is_recorded_with_its_named_entries_and_mask(tmp_path):
    # setfacl -m u:1000:rw on a 0640 file: the mode then reads 0660 (the mask), the user is let in.
    import struct
    from bench.collect.files import parse_acl
    path = tmp_path / "docker.sock"
    path.write_text("")
    os.chmod(path, 0o640)
    entry = struct.Struct("<HHI")
    raw = (struct.pack("<I", 2) + entry.pack(0x01, 6, 0xFFFFFFFF) + entry.pack(0x02, 6, 1000)
           + entry.pack(0x04, 4, 0xFFFFFFFF) + entry.pack(0x10, 6, 0xFFFFFFFF) + entry.pack(0x20, 0, 0xFFFFFFFF))
    try:
        os.setxattr(path, "system.posix_acl_access", raw)
    except OSError as exc:
        pytest.skip(f"this file system keeps no POSIX ACLs: {exc}")
    facts = stat_file(Host(root=str(tmp_path)), "/docker.sock")
    assert facts.mode == 0o660 and facts.acl == ["user:1000:rw-", "mask::rw-"]
    assert parse_acl(None) == [] and stat_file(Host(root=str(tmp_path)), "/missing").acl == []
    with pytest.raises(ValueError):
        parse_acl(b"\x01\x00\x00\x00")
