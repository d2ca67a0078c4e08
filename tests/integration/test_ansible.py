"""The Ansible recipe run for real with ansible-core from PyPI over three hosts: this machine
through a local connection, a second host reached by ssh (a throwaway sshd on 127.0.0.1 in a UTS
namespace of its own, so it has a hostname of its own), and one that cannot be reached. Each
reachable host installs the auditor from the controller's wheels, audits a throwaway daemon and
sends back JSON and JUnit; the merge lists the unreachable host by name, with ssh's reason."""
from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from dockerd import Dockerd, Unavailable
from integration_env import IMAGE, free_port, require_environment, run, start_daemon, unavailable
from recipes import copy_repository, environ, recipe, run_sh
from test_integration_ssh import SSHD, require_ssh

pytestmark = pytest.mark.integration

SSH_HOSTNAME = "dcb-fleet-ssh"


@contextlib.contextmanager
def sshd_in_its_own_uts(scratch: Path, port: int, public_key: str) -> Iterator[None]:
    """sshd for root with one throwaway key, on 127.0.0.1:port, its sessions on their own hostname."""
    if shutil.which("unshare") is None or shutil.which("hostname") is None:
        raise Unavailable("unshare or hostname (util-linux, hostname) is not installed")
    shadow = next((line.split(":") for line in Path("/etc/shadow").read_text().splitlines()
                   if line.startswith("root:")), ["root", "!"])
    if shadow[1].startswith("!"):
        raise Unavailable("root's account is locked: sshd without PAM refuses key logins to it")
    host_key = scratch / "host_key"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)])
    authorized = scratch / "authorized_keys"
    authorized.write_text(public_key)
    config = scratch / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}", f"PidFile {scratch}/sshd.pid",
        f"AuthorizedKeysFile {authorized}", "PubkeyAuthentication yes", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "PermitRootLogin prohibit-password",
        "AllowUsers root", "X11Forwarding no", "PrintMotd no", "Subsystem sftp internal-sftp"]) + "\n")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    with open(scratch / "sshd.log", "wb") as log:
        process = subprocess.Popen(["unshare", "--uts", "sh", "-c", f'hostname {SSH_HOSTNAME} && exec "$0" -D -e -f "$1"',
                                    SSHD, str(config)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise Unavailable(f"sshd exited: {(scratch / 'sshd.log').read_text()[-400:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise Unavailable("the throwaway sshd did not listen")
            time.sleep(0.1)
        yield
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)


def inventory(scratch: Path, daemon: Dockerd, ssh_port: int, key: Path) -> str:
    common = (f"ansible_python_interpreter=/usr/bin/python3 dcb_formats='[\"json\", \"junit\"]' "
              f"dcb_record_args='[\"--host\", \"{daemon.host}\"]'")
    ssh = (f"ansible_host=127.0.0.1 ansible_user=root ansible_ssh_private_key_file={key} "
           "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'")
    return "\n".join([
        "[docker_hosts]",
        f"local ansible_connection=local dcb_install_dir={scratch}/local {common}",
        f"sshhost {ssh} ansible_port={ssh_port} dcb_install_dir={scratch}/ssh {common}",
        f"ghost {ssh} ansible_port={free_port()} dcb_install_dir={scratch}/ghost {common}",
    ]) + "\n"


@pytest.fixture(scope="module")
def fleet() -> Iterator[tuple[Path, dict[str, str], Dockerd]]:
    try:
        require_environment()
        require_ssh()
    except Unavailable as exc:
        unavailable(str(exc))
    if not (Path(sys.executable).parent / "ansible-playbook").exists():
        unavailable("ansible-playbook is not installed in the test venv (pip install '.[test]' installs ansible-core)")
    if subprocess.run(["/usr/bin/python3", "-c", "import ensurepip, venv"], capture_output=True).returncode != 0:
        unavailable("/usr/bin/python3 has no venv module (apt-get install python3-venv)")
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dcb-ansible-")))
        daemon = Dockerd(name="ans")
        try:
            start_daemon(stack, daemon)
            daemon.import_busybox(IMAGE)
            daemon.docker("run", "-d", "--name", "plain", "--network", "none", IMAGE, "sleep", "100000")
            key = scratch / "id_ed25519"
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dcb ansible test", "-f", str(key)])
            port = free_port()
            stack.enter_context(sshd_in_its_own_uts(scratch, port, (scratch / "id_ed25519.pub").read_text()))
        except Unavailable as exc:
            unavailable(str(exc))
        repo = copy_repository(scratch / "repo")
        (repo / "inventory.ini").write_text(inventory(scratch, daemon, port, key))
        env = environ(ANSIBLE_HOME=str(scratch / "ansible-home"), ANSIBLE_REMOTE_TEMP=str(scratch / "remote-tmp"),
                      ANSIBLE_LOCAL_TEMP=str(scratch / "local-tmp"), ANSIBLE_NOCOLOR="1")
        built = run_sh(recipe("wheels"), repo, env)
        assert built.returncode == 0, built.stderr[-2000:]
        yield repo, env, daemon


def test_the_playbook_audits_reachable_hosts_and_merge_reports_the_unreachable_one(fleet) -> None:
    repo, env, daemon = fleet
    runs = []
    for night in (1, 2):    # the recipe repeats: the second run upgrades in place and replaces the reports
        result = run_sh(recipe("ansible"), repo, env, timeout=600)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        merged = json.loads((repo / "fleet" / "fleet.json").read_text())
        runs.append(merged)
        hosts = {h["hostname"]: h for h in merged["hosts"]}
        local_name = Path("/proc/sys/kernel/hostname").read_text().strip()
        assert set(hosts) == {local_name, SSH_HOSTNAME}, merged["hosts"]
        assert [u["hostname"] for u in merged["unreachable"]] == ["ghost"]
        assert "Connection refused" in merged["unreachable"][0]["reason"]
        text = (repo / "fleet" / "fleet.txt").read_text()
        assert text.startswith("3 hosts: 2 audited, 1 unreachable") and text in result.stdout   # the recipe's cat
        for name in ("local", "sshhost"):
            report = json.loads((repo / "fleet" / f"{name}.json").read_text())
            assert report["facts_source"].endswith("facts.json")
            by_id = {r["id"]: r for r in report["results"]}
            assert by_id["4.1"]["status"] == "FAIL" and "plain" in by_id["4.1"]["details"]
            assert (repo / "fleet" / f"{name}.xml").read_text().startswith("<?xml")
        assert not (repo / "fleet" / "ghost.xml").exists()
    assert runs[0]["hosts"][0]["started_at"] < runs[1]["hosts"][0]["started_at"]
    # Both reachable hosts audited the same daemon: the same verdicts.
    first, second = (json.loads((repo / "fleet" / f"{n}.json").read_text()) for n in ("local", "sshhost"))
    assert {r["id"]: r["status"] for r in first["results"]} == {r["id"]: r["status"] for r in second["results"]}
