"""--root: read host files and /proc from a host root mounted elsewhere (the auditor in a container)."""
import json
import os

from bench.cli import main


def test_files_groups_and_kernel_come_from_the_mounted_root(tmp_path, monkeypatch, capsys):
    root = tmp_path / "host"
    (root / "etc/docker").mkdir(parents=True)
    (root / "etc/docker/daemon.json").write_text('{"icc": false}')
    os.chmod(root / "etc/docker/daemon.json", 0o600)
    (root / "etc/group").write_text("root:x:0:\ndocker:x:4242:mallory\n")
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "etc/default").mkdir()
    (root / "etc/default/docker").write_text("")
    os.chmod(root / "etc/default/docker", 0o666)
    (root / "proc").symlink_to("/proc")  # the host's process table, as `--pid host -v /:/host` gives it
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nowhere.sock")
    out = tmp_path / "facts.json"
    assert main(["record", "--root", str(root), "-o", str(out), "--timeout", "2"]) == 0
    facts = json.loads(out.read_text())
    assert facts["host"]["root"] == str(root)
    assert facts["docker_group"]["members"] == ["mallory"] and facts["docker_group"]["gid"] == 4242
    assert facts["files"]["files"]["/etc/default/docker"]["mode"] == 0o666
    assert facts["host"]["kernel_release"] == os.uname().release
    capsys.readouterr()
    code = main(["--facts", str(out), "--check", "3.20,1.6", "-f", "json"])
    results = {r["id"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert results["3.20"]["status"] == "FAIL" and "mode 0666" in results["3.20"]["details"]
    assert "mallory" in results["1.6"]["details"]
    assert code == 1


def test_root_must_hold_a_proc(tmp_path, capsys):
    assert main(["--root", str(tmp_path)]) == 2
    assert "no host /proc under it" in capsys.readouterr().err
