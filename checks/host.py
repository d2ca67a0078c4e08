"""Host checks that need more than a comparison: the data partition, the engine's age, the docker
group, content trust, and the evidence for the host recommendations a human must judge."""
from __future__ import annotations

import os
from typing import Optional

from bench.check import (VersionError, at_least, check, daemon_config, data_root, errored, failed, info, passed,
                         parse_version, show_version, warned)


def data_root_of(facts) -> tuple[Optional[str], str]:
    config = None if facts.daemon.unavailable() else daemon_config(facts)
    return data_root(facts.engine, facts.daemon, config)


@check("host-docker-partition", title="The Docker data directory is on its own partition", needs=("mounts",))
def docker_partition(facts):
    root, basis = data_root_of(facts)
    if root is None:
        return errored(f"the data root is unknown: {basis}")
    root = os.path.normpath(root)
    mounts = facts.mounts.mounts
    fstab = [e for e in facts.mounts.fstab if os.path.normpath(e.file) == root]
    fstab_note = f"; /etc/fstab lists {fstab[0].spec} for it" if fstab else ""
    if facts.mounts.fstab_error:
        fstab_note = f"; {facts.mounts.fstab_error}"
    holder = _containing_mount(mounts, root)
    system_root = [m for m in mounts if m.target == "/"]
    if holder is None:
        return failed(f"no mount holds {root} ({basis}) in {facts.mounts.source}")
    if holder.target == "/":
        return failed(f"{root} ({basis}) lies on the root filesystem{fstab_note}")
    same_device = bool(system_root) and holder.device == system_root[-1].device
    if same_device:
        # dockerd bind-mounts its data root onto itself; that is no partition of its own.
        return failed(f"{root} ({basis}) is a mount point, but of {holder.root} on the root filesystem's "
                      f"device {holder.source}{fstab_note}")
    where = "" if os.path.normpath(holder.target) == root else f" (it lies under the mount point {holder.target})"
    return passed(f"{root} ({basis}) is on {holder.source} ({holder.fstype}), not on the root filesystem{where}")


def _containing_mount(mounts, path: str):
    """The mount that holds path: the deepest mount point above it, the last one mounted there."""
    best = None
    for mount in mounts:
        target = os.path.normpath(mount.target)
        if path == target or path.startswith(target.rstrip("/") + "/"):
            if best is None or len(target) >= len(os.path.normpath(best.target)):
                best = mount
    return best


@check("manual-host-hardening", title="The host is hardened (evidence for a human)", needs=("host",))
def host_hardening(facts):
    host = facts.host
    evidence = [f"OS {host.os_name or 'unknown'}", f"kernel {host.kernel_release or 'unknown'}"]
    if not facts.engine.unavailable():
        options = facts.engine.info.get("SecurityOptions") or []
        names = sorted({o.split(",")[0].removeprefix("name=") for o in options})
        evidence.append("Docker security options: " + (", ".join(names) if names else "none"))
    return info("; ".join(evidence) + ". Compare the host with a hardening baseline (e.g. the CIS benchmark for its OS).")


@check("host-listening-services", title="Only services Docker needs run on the host (evidence)", needs=("host",))
def listening_services(facts):
    host = facts.host
    if host.listening_error:
        return info(f"listening sockets unknown ({host.listening_error}); review running services by hand")
    services = sorted(set(host.listening))
    shown = ", ".join(services[:40]) + (f" and {len(services) - 40} more" if len(services) > 40 else "")
    return info(f"{len(services)} listening sockets: {shown or 'none'}. Confirm each is needed on a Docker host.")


DEFAULT_MINIMUM = "28.0"


@check("engine-version-supported", title="The Docker engine is a supported release", needs=("engine",),
       params={"minimum": DEFAULT_MINIMUM})
def engine_version(facts, params):
    version = str(facts.engine.version.get("Version") or "")
    if not version:
        return warned("the engine did not report its version")
    try:
        minimum = parse_version(params["minimum"])
        have = parse_version(version)
    except VersionError as exc:
        return warned(f"cannot compare versions: {exc}")
    basis = (f"engine {version}; this audit's minimum is {show_version(minimum)} "
             "(change it with --param engine-version-supported.minimum=VERSION)")
    if at_least(have, minimum):
        return passed(basis)
    note = ""
    if "dfsg" in version or "+" in version or "~" in version:
        note = "; a distribution build may carry back-ported fixes: check its security tracker"
    return failed(f"{basis}{note}")


@check("host-docker-group-members", title="Members of the docker group (for a human to confirm)",
       needs=("docker_group",))
def docker_group_members(facts):
    if not facts.daemon.unavailable() and facts.daemon.rootless:
        return info(f"rootless daemon (uid {facts.daemon.uid}): only its user can reach its socket; "
                    "no group grants access")
    group = facts.docker_group
    if not group.exists:
        return info(f"there is no {group.name!r} group in /etc/group: only root can use the API socket "
                    "(groups from LDAP or other NSS sources are not listed)")
    members = sorted(set(group.members) | set(group.primary_members))
    listed = ", ".join(members) if members else "no members"
    return info(f"group {group.name} (gid {group.gid}): {listed}. Each member can control the daemon, "
                "which amounts to root on this host: confirm each is a trusted administrator.")


@check("host-content-trust", title="Docker content trust is enabled", needs=("host",))
def content_trust(facts):
    value = facts.host.environment.get("DOCKER_CONTENT_TRUST")
    if value == "1":
        return passed("DOCKER_CONTENT_TRUST=1 in the environment of this audit")
    shown = "is not set" if value is None else f"is {value!r}"
    return failed(f"DOCKER_CONTENT_TRUST {shown} in the environment of this audit; "
                  "set it to 1 for every user and tool that pulls images")
