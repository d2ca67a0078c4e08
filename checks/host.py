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


@check("host-docker-partition", title="The Docker data directory is on its own partition", needs=("mounts",),
       rationale=("Images, layers and container writes can fill a disk quickly; on their own "
                  "partition they cannot exhaust the root filesystem and take the host down."),
       references=("https://docs.docker.com/engine/daemon/#daemon-data-directory",
                   "https://man7.org/linux/man-pages/man5/proc_pid_mountinfo.5.html",
                   "https://man7.org/linux/man-pages/man5/fstab.5.html"))
def docker_partition(facts):
    """Finds the data root (DockerRootDir from the Engine API, else --data-root/--graph, else
    /var/lib/docker) and the mount holding it in the daemon's mount namespace (/proc/<dockerd
    pid>/mountinfo, else /proc/self or /proc/1). It FAILs when that mount is `/`, or is on the
    same device as `/` (as dockerd's bind mount of its data root onto itself is), and PASSes when
    it is another device (the directory may lie below that mount point); an unknown data root or
    an unreadable mount table is ERROR and a remote engine SKIPs."""
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


@check("manual-host-hardening", title="The host is hardened (evidence for a human)", needs=("host",),
       rationale=("Every container is only as safe as the kernel and OS under it; a host hardened "
                  "to a known baseline shrinks what an escaped process can reach."),
       references=("https://docs.docker.com/engine/security/#other-kernel-security-features",
                   "https://docs.kernel.org/admin-guide/LSM/SELinux.html"))
def host_hardening(facts):
    """Always INFO: reports the OS (PRETTY_NAME from os-release), the kernel release and, when the
    engine answers, the security options `docker info` lists (apparmor, seccomp, selinux, userns,
    ...), for a human to compare the host with a hardening baseline. A remote engine SKIPs."""
    host = facts.host
    evidence = [f"OS {host.os_name or 'unknown'}", f"kernel {host.kernel_release or 'unknown'}"]
    if not facts.engine.unavailable():
        options = facts.engine.info.get("SecurityOptions") or []
        names = sorted({o.split(",")[0].removeprefix("name=") for o in options})
        evidence.append("Docker security options: " + (", ".join(names) if names else "none"))
    return info("; ".join(evidence) + ". Compare the host with a hardening baseline (e.g. the CIS benchmark for its OS).")


@check("host-listening-services", title="Only services Docker needs run on the host (evidence)", needs=("host",),
       rationale=("Every extra service on a Docker host is another way in to a machine that "
                  "controls all its containers; running little besides Docker keeps that surface "
                  "small."),
       references=("https://docs.docker.com/engine/security/#docker-daemon-attack-surface",
                   "https://man7.org/linux/man-pages/man8/ss.8.html"))
def listening_services(facts):
    """Always INFO: lists the host's listening TCP sockets and bound UDP sockets with the process
    that owns each (from the host's /proc), or says they could not be listed, for a human to
    confirm each service is needed. A remote engine SKIPs."""
    host = facts.host
    if host.listening_error:
        return info(f"listening sockets unknown ({host.listening_error}); review running services by hand")
    services = sorted(set(host.listening))
    shown = ", ".join(services[:40]) + (f" and {len(services) - 40} more" if len(services) > 40 else "")
    return info(f"{len(services)} listening sockets: {shown or 'none'}. Confirm each is needed on a Docker host.")


DEFAULT_MINIMUM = "28.0"


def _minimum_version(name: str, value: object) -> str:
    """--param engine-version-supported.minimum=VERSION: refused at once when no version, as a
    minimum that cannot be compared would only WARN on every host."""
    try:
        parse_version(str(value))
    except VersionError as exc:
        raise ValueError(f"{name} takes a version such as 28.0 ({exc})") from None
    return str(value)


@check("engine-version-supported", title="The Docker engine is a supported release", needs=("engine",),
       params={"minimum": DEFAULT_MINIMUM}, prepare=_minimum_version,
       rationale=("Engine releases fix vulnerabilities, including container escapes; a daemon "
                  "left behind its maintained releases keeps known holes open."),
       references=("https://docs.docker.com/engine/release-notes/",
                   "https://docs.docker.com/engine/install/"))
def engine_version(facts, params):
    """Compares the Version from `docker version` with a minimum (28.0 unless changed with --param
    engine-version-supported.minimum=VERSION), numerically part by part. At least the minimum
    PASSes; older FAILs, noting that a distribution build (dfsg, +, ~ in the version) may carry
    back-ported fixes; no version reported, or one that cannot be parsed, WARNs."""
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
       needs=("docker_group",),
       rationale=("Membership in the docker group equals root on the host, because members can "
                  "start a privileged container or mount /; each member must be someone trusted "
                  "with root."),
       references=("https://docs.docker.com/engine/install/linux-postinstall/",
                   "https://docs.docker.com/engine/security/#docker-daemon-attack-surface",
                   "https://man7.org/linux/man-pages/man5/group.5.html"))
def docker_group_members(facts):
    """Always INFO: lists the members of the group the daemon gives its socket (its `group` option,
    default docker), both those named in /etc/group and users whose primary group it is in
    /etc/passwd; says when the group does not exist (members from LDAP or other NSS sources are
    not listed), and for a rootless daemon that only its user can reach the socket. A remote
    engine SKIPs."""
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


@check("host-content-trust", title="Docker content trust is enabled", needs=("host",),
       rationale=("With content trust on, the docker client pulls and runs only signed image "
                  "tags, so a tampered or substituted image in a registry is refused. Docker is "
                  "retiring it: CLI 29.0 no longer verifies content trust, and signature "
                  "verification (cosign, Notation) replaces it."),
       references=("https://docs.docker.com/engine/security/trust/",
                   "https://www.docker.com/blog/retiring-docker-content-trust/"))
def content_trust(facts):
    """Reads DOCKER_CONTENT_TRUST from the environment the audit runs in as the docker CLI reads
    it (a boolean; any value that is not one turns it on), and which docker CLI that environment
    runs: from 29.0 on the CLI ignores the variable, so it protects nothing. Only the auditing
    process's environment is seen, not that of other users or tools; a remote engine SKIPs."""
    value = facts.host.environment.get("DOCKER_CONTENT_TRUST")
    if not content_trust_on(value):
        shown = "is not set" if value is None else f"is {value!r}, which the docker CLI reads as off"
        return failed(f"DOCKER_CONTENT_TRUST {shown} in the environment of this audit; {RETIRING}")
    cli, error = facts.host.docker_cli, facts.host.docker_cli_error
    if cli is None:
        return errored(f"DOCKER_CONTENT_TRUST={value} is set, but which docker CLI it would act on was "
                       f"not recorded ({error or 'facts from an earlier release'}); {RETIRING}")
    if not cli.path:
        return failed(f"DOCKER_CONTENT_TRUST={value} is set, but no docker CLI is on this audit's PATH to "
                      f"verify anything; {RETIRING}")
    if not cli.version:
        return errored(f"{cli.path} is not Docker's CLI ({cli.banner or 'no version printed'}): whether it "
                       f"honours DOCKER_CONTENT_TRUST is unknown; {RETIRING}")
    if at_least(parse_version(cli.version), CLI_WITHOUT_TRUST):
        return failed(f"DOCKER_CONTENT_TRUST={value} is set, but the docker CLI here ({cli.version}, {cli.path}) "
                      f"ignores it: client-side content trust was removed in CLI 29.0, so images are not "
                      f"verified. Verify image signatures with cosign or Notation instead (4.12 in the "
                      f"current editions), and record the exception for this recommendation")
    return passed(f"DOCKER_CONTENT_TRUST={value} in the environment of this audit (docker CLI {cli.version}); "
                  f"{RETIRING}")


# Docker's client dropped content trust in this release (docker/cli#6603).
CLI_WITHOUT_TRUST = (29, 0)
RETIRING = ("Docker is retiring content trust (Notary for Docker Hub is shut down, CLI 29.0 removed it): "
            "plan signature verification with cosign or Notation")


def content_trust_on(value: Optional[str]) -> bool:
    """The docker CLI's reading: unset or empty is off; Go's boolean spellings of false are off;
    anything else, including words that are not booleans, is on."""
    if not value:
        return False
    return value not in ("0", "f", "F", "false", "FALSE", "False")
