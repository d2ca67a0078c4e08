"""The Kubernetes recipe's manifest: valid for the Kubernetes releases in use (kubernetes-validate,
with the schemas it ships, strict: no field Kubernetes does not know), and holding only the
privileges docs/fleets.md says the audit needs. It is not applied here (no Kubernetes); its
container is run as a pod would run it in tests/integration/test_image.py."""
import copy
import subprocess

import kubernetes_validate
import pytest

from kubernetes_pod import daemonset, docker_run, documents, manifest_path

VERSIONS = ("1.30.0", "1.33.0", kubernetes_validate.latest_version())


@pytest.mark.parametrize("version", VERSIONS)
def test_the_manifest_is_valid_for_kubernetes(version):
    docs = documents()
    assert [d["kind"] for d in docs] == ["Namespace", "DaemonSet"]
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_refuses_what_kubernetes_would():
    wrong = copy.deepcopy(daemonset())
    wrong["spec"]["template"]["spec"]["hostPid"] = True          # hostPID misspelt
    with pytest.raises(kubernetes_validate.ValidationError, match="hostPid"):
        kubernetes_validate.validate(wrong, VERSIONS[-1], strict=True)
    wrong = copy.deepcopy(daemonset())
    wrong["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["readOnly"] = "yes"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, VERSIONS[-1], strict=True)


def test_the_pod_holds_only_what_the_audit_needs():
    pod = daemonset()["spec"]["template"]["spec"]
    assert "hostPID" not in pod and "hostIPC" not in pod and pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["privileged"] is False and security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"], "add": ["DAC_READ_SEARCH"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v["hostPath"] for v in pod["volumes"]}
    # Everything from the host is read-only but the report directory.
    writable = [path for path, m in mounts.items() if not m.get("readOnly")]
    assert writable == ["/reports"] and volumes[mounts["/reports"]["name"]]["path"] == "/var/lib/docker-cis-bench"
    assert volumes[mounts["/host"]["name"]] == {"path": "/", "type": "Directory"}
    assert volumes[mounts["/var/run/docker.sock"]["name"]] == {"path": "/var/run/docker.sock", "type": "Socket"}


def test_the_containers_script_is_valid_shell():
    (container,) = daemonset()["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["/bin/sh", "-c"]
    checked = subprocess.run(["/bin/sh", "-n", "-c", container["args"][0]], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_the_translation_to_docker_run_refuses_what_it_does_not_know():
    pod = copy.deepcopy(daemonset()["spec"]["template"]["spec"])
    pod["hostPID"] = True
    with pytest.raises(AssertionError, match="hostPID"):
        docker_run(pod, image="x", name="x", node="n", host_paths={})
    pod = copy.deepcopy(daemonset()["spec"]["template"]["spec"])
    argv = docker_run(pod, image="img", name="k8s_audit_x", node="node1",
                      host_paths={"/var/run/docker.sock": "/tmp/d.sock", "/var/lib/docker-cis-bench": "/tmp/r"})
    assert ["--network", "host"] == argv[argv.index("--network"):argv.index("--network") + 2]
    assert "--volume" in argv and "/:/host:ro" in argv and "/tmp/d.sock:/tmp/d.sock:ro" in argv and "/tmp/r:/reports" in argv
    assert "DOCKER_HOST=unix:///tmp/d.sock" in argv and "NODE=node1" in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL" and "--read-only" in argv


def test_the_readme_recipe_applies_the_shipped_manifest():
    assert manifest_path().is_file() and manifest_path().parent.name == "kubernetes"
