"""The Kubernetes recipe's manifest (deploy/kubernetes/), read for the tests: its documents, its
DaemonSet's pod, and that pod's container as the `docker run` that gives it the same namespaces,
mounts, user, capabilities and command. A field this translation does not know fails the
translation, so a setting added to the manifest cannot pass the live test unexamined."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from recipes import REPO, recipe

# The fields of the pod and its container the translation understands (the rest must be absent).
POD_FIELDS = {"nodeSelector", "tolerations", "automountServiceAccountToken", "enableServiceLinks", "hostNetwork",
              "terminationGracePeriodSeconds", "securityContext", "containers", "volumes"}
CONTAINER_FIELDS = {"name", "image", "imagePullPolicy", "command", "args", "env", "securityContext", "resources",
                    "volumeMounts"}
SECURITY_FIELDS = {"runAsUser", "privileged", "allowPrivilegeEscalation", "readOnlyRootFilesystem", "capabilities"}


def manifest_path() -> Path:
    """The file the README's kubernetes recipe applies."""
    files = re.findall(r"kubectl apply -f (\S+)", recipe("kubernetes"))
    assert len(files) == 1, recipe("kubernetes")
    return REPO / files[0]


def documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(manifest_path().read_text()) if d]


def daemonset() -> dict[str, Any]:
    (found,) = [d for d in documents() if d["kind"] == "DaemonSet"]
    return found


def docker_run(pod: dict[str, Any], *, image: str, name: str, node: str, host_paths: dict[str, str]) -> list[str]:
    """`docker run` arguments for the pod's one container. host_paths maps a hostPath in the
    manifest to this machine's (the throwaway daemon's socket, a scratch report directory);
    a mount of the socket moves with it, and so does DOCKER_HOST, as on a node whose socket is there."""
    unknown = set(pod) - POD_FIELDS
    assert not unknown, f"the pod sets {unknown}: teach tests/kubernetes_pod.py what they mean"
    (container,) = pod["containers"]
    unknown = set(container) - CONTAINER_FIELDS
    assert not unknown, f"the container sets {unknown}: teach tests/kubernetes_pod.py what they mean"
    argv = ["run", "--detach", "--name", name]
    if pod.get("hostNetwork"):
        argv += ["--network", "host"]
    security = container.get("securityContext", {})
    unknown = set(security) - SECURITY_FIELDS
    assert not unknown, f"the container's securityContext sets {unknown}"
    assert security.get("privileged") is not True
    if "runAsUser" in security:
        argv += ["--user", str(security["runAsUser"])]
    if security.get("allowPrivilegeEscalation") is False:
        argv += ["--security-opt", "no-new-privileges"]
    if security.get("readOnlyRootFilesystem"):
        argv += ["--read-only"]
    for cap in security.get("capabilities", {}).get("drop", []):
        argv += ["--cap-drop", cap]
    for cap in security.get("capabilities", {}).get("add", []):
        argv += ["--cap-add", cap]
    memory = container.get("resources", {}).get("limits", {}).get("memory")
    if memory:
        argv += ["--memory", memory.replace("Mi", "m").replace("Gi", "g")]
    volumes = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
    moved = {}
    for mount in container["volumeMounts"]:
        source = volumes[mount["name"]]
        here = host_paths.get(source, source)
        target = here if mount["mountPath"] == source and source in host_paths else mount["mountPath"]
        moved[mount["mountPath"]] = target
        argv += ["--volume", f"{here}:{target}" + (":ro" if mount.get("readOnly") else "")]
    for entry in container.get("env", []):
        if "valueFrom" in entry:
            assert entry["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}, entry
            value = node
        else:
            value = entry["value"]
        if value.startswith("unix://"):
            value = "unix://" + moved.get(value[len("unix://"):], value[len("unix://"):])
        argv += ["--env", f"{entry['name']}={value}"]
    command = container["command"]
    argv += ["--entrypoint", command[0], image, *command[1:], *container.get("args", [])]
    return argv

