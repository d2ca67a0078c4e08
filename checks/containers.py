"""Per-container checks that need logic: users, capabilities, restart policy, ulimits, security
profiles and what the kernel reports about each container's main process. What of the host a
container reaches (host directories, published ports, host devices) is in container_exposure.py."""
from __future__ import annotations

from bench.check import (DEFAULT_CAPABILITIES, errored, HOST_UID_MAP, container_check, container_uid, daemon_config,
                         effective_capabilities, failed, info, normalise_capability, parse_user, passed,
                         short_capability, skipped, user_is_root)


def _running(container) -> bool:
    return bool(container.get("State.Running", False))


# -- 4.1 --------------------------------------------------------------------------------------------

def _security_options(facts) -> set[str]:
    options = facts.engine.info.get("SecurityOptions") or [] if facts.engine.info else []
    return {o.split(",")[0].removeprefix("name=") for o in options}


def _uid_map(container, facts):
    """The container's uid_map as recorded; failing that, the identity map where the daemon runs it
    in the host's user namespace (no userns-remap, not rootless, or --userns=host); else None."""
    recorded = facts.processes.uid_maps.get(container.id)
    if recorded is not None:
        return recorded
    if facts.engine.unavailable() or not facts.engine.info:
        return None
    options = _security_options(facts)
    if "rootless" in options:
        return None
    if "userns" not in options or container.get("HostConfig.UsernsMode", "") == "host":
        return HOST_UID_MAP
    return None


@container_check("container-user", title="The container runs as a non-root user",
                 rationale=("A process running as root inside the container is root as far as the "
                            "kernel is concerned (unless remapped), so any escape or "
                            "misconfigured mount hands it host-level power."),
                 references=("https://docs.docker.com/engine/containers/run/#user",
                             "https://docs.docker.com/reference/dockerfile/#user",
                             "https://man7.org/linux/man-pages/man7/credentials.7.html",
                             "https://man7.org/linux/man-pages/man7/user_namespaces.7.html"))
def container_user(container, facts):
    """Reads Config.User of each inspected container (running ones, or all with --all) as runc's
    user lookup does: the part before the first `:` is a uid when Go's Atoi reads it (so `00`,
    `+0` and `-0` are uid 0) and a name otherwise. Uid 0, the name `root` or no user part FAILs; a
    non-zero uid PASSes; another name PASSes, noting it is root only if the image's /etc/passwd gives
    it uid 0. For a running container whose main process the host's /proc shows, the uid inside the
    container (the Uid line of /proc/<pid>/status mapped through its uid_map, or taken as is where
    the daemon uses no user namespaces) decides: uid 0 FAILs whatever Config.User says. No container
    SKIPs."""
    user = str(container.get("Config.User", "") or "")
    parsed = parse_user(user)
    status = {} if facts.processes.unavailable() else facts.processes.init_status.get(container.id, {})
    uid_line = status.get("Uid", "")
    # The host uid is a note (userns-remap); the uid inside the container is evidence.
    host_uid = uid_line.split()[1] if len(uid_line.split()) > 1 else (uid_line.split() or [""])[0]
    inside = container_uid(uid_line, _uid_map(container, facts)) if uid_line and _running(container) else None
    mapped = f"; on the host it runs as uid {host_uid}" if host_uid and host_uid != "0" else ""
    shown = "no user set" if not user else f"user {user}"
    root = user_is_root(parsed)
    if root:
        kernel = {None: "", 0: " (the kernel reports uid 0)"}.get(inside, (
            f" (its main process now runs as uid {inside}: it changed user itself; docker exec and restarts "
            "still start as root)"))
        return failed(f"{shown}: the process runs as root in the container{kernel}{mapped}")
    if inside == 0:
        return failed(f"{shown}: the kernel reports its main process runs as uid 0 in the container{mapped}")
    if parsed.error:
        return passed(f"user {user}: {parsed.error}")
    if inside is not None:
        return passed(f"user {user} (uid {inside} in the container, as the kernel reports)")
    if root is None:
        return passed(f"user {user} (a name: root only if the image's /etc/passwd gives it uid 0)")
    return passed(f"user {user}")


# -- 5.3 --------------------------------------------------------------------------------------------

@container_check("container-capabilities", title="The container holds no capability beyond Docker's default set",
                 rationale=("Each capability added to the default set gives root in the container "
                            "another slice of host privilege (raw network, module loading, "
                            "mounts); a container should carry only what it needs."),
                 references=("https://docs.docker.com/engine/containers/run/#runtime-privilege-and-linux-capabilities",
                             "https://docs.docker.com/reference/cli/docker/container/run/#cap-add",
                             "https://man7.org/linux/man-pages/man7/capabilities.7.html"))
def container_capabilities(container, facts):
    """Computes the container's capability bounding set from HostConfig.CapAdd, CapDrop and
    Privileged as dockerd does (names in any case, with or without CAP_; ALL in CapAdd gives every
    capability but those dropped; ALL in CapDrop keeps only CapAdd; otherwise Docker's 14 defaults
    less CapDrop plus CapAdd, an added capability winning over a dropped one). Privileged, ALL added,
    or any capability beyond the default set (named) FAILs; a set within the defaults PASSes,
    saying what was dropped, and noting a --cap-add of a capability the defaults already hold."""
    if container.get("HostConfig.Privileged", False):
        return failed("privileged: the container holds every capability")
    cap_add, cap_drop = container.get("HostConfig.CapAdd", []), container.get("HostConfig.CapDrop", [])
    caps = effective_capabilities(cap_add, cap_drop, False)
    dropped = sorted(short_capability(c) for c in caps.dropped_defaults())
    dropped_text = f"; dropped: {', '.join(dropped)}" if dropped else ""
    if caps.everything:
        return failed(f"adds ALL: every capability the kernel has{dropped_text}")
    beyond = sorted(short_capability(c) for c in caps.beyond_default())
    if beyond:
        return failed(f"capabilities beyond Docker's default set: {', '.join(beyond)}{dropped_text}")
    kept = sorted(short_capability(c) for c in caps.granted)
    # A default capability added, and not dropped with ALL, changes nothing: worth a word, not a FAIL.
    adds = {normalise_capability(c) for c in ([cap_add] if isinstance(cap_add, str) else cap_add or [])}
    drops = {normalise_capability(c) for c in ([cap_drop] if isinstance(cap_drop, str) else cap_drop or [])}
    redundant = [] if "ALL" in drops else sorted(short_capability(c) for c in adds & DEFAULT_CAPABILITIES - drops)
    note = f" (--cap-add {', '.join(redundant)}: already in the default set)" if redundant else ""
    if not kept:
        return passed(f"no capabilities: all {len(DEFAULT_CAPABILITIES)} of Docker's defaults dropped{note}")
    if not dropped:
        return passed(f"Docker's default capabilities, none added{note}")
    return passed(f"within Docker's default set: {', '.join(kept)}{dropped_text}{note}")


# -- 5.6 --------------------------------------------------------------------------------------------

SSH_DAEMONS = ("sshd", "dropbear")


@container_check("container-no-sshd", title="No SSH server runs in the container", needs=("processes",),
                 rationale=("An SSH server inside a container is one more network service, with "
                            "its own keys and passwords to manage and patch; `docker exec` "
                            "already gives administrators a way in."),
                 references=("https://docs.docker.com/reference/cli/docker/container/exec/",
                             "https://man7.org/linux/man-pages/man8/sshd.8.html"))
def container_no_sshd(container, facts):
    """For each running container, scans the host's process table for processes whose
    /proc/<pid>/cgroup names the container's id and whose command name is sshd or dropbear; any
    FAILs, none PASSes. A running container none of whose processes could be seen (another PID
    namespace, /proc not readable) is ERROR: not seeing an sshd is no evidence there is none.
    Nothing is executed inside the container; stopped containers and remote engines SKIP."""
    if not _running(container):
        return skipped("not running")
    own = [p for p in facts.processes.items if p.container_id == container.id]
    if not own:
        return errored("the container runs, but none of its processes is visible in the host's process table")
    found = [p for p in own if p.comm in SSH_DAEMONS]
    if found:
        return failed(", ".join(f"{p.comm} (host pid {p.pid})" for p in found) + " running")
    return passed(f"no SSH server among its {len(own)} processes")


# -- 5.14 -------------------------------------------------------------------------------------------

MAX_RETRIES = 5


@container_check("container-restart-policy", title="Restart policy is on-failure with at most 5 retries, or none",
                 rationale=("A container that restarts forever can turn a crash loop or an "
                            "exploited fault into a denial of service and hides the failure; a "
                            "small retry limit makes it stop and be noticed."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#restart",
                             "https://docs.docker.com/engine/containers/start-containers-automatically/"))
def container_restart_policy(container, facts):
    """Reads HostConfig.RestartPolicy: none (`no` or empty) PASSes, on-failure with 1 to 5 retries
    PASSes; on-failure with 0 (unlimited) or more than 5 retries, always and unless-stopped FAIL."""
    name = str(container.get("HostConfig.RestartPolicy.Name", "") or "")
    retries = container.get("HostConfig.RestartPolicy.MaximumRetryCount", 0) or 0
    if name in ("", "no"):
        return passed("no restart policy")
    if name == "on-failure":
        if 0 < retries <= MAX_RETRIES:
            return passed(f"on-failure:{retries}")
        shown = "unlimited retries" if retries == 0 else f"{retries} retries"
        return failed(f"on-failure with {shown}, expected at most {MAX_RETRIES}")
    return failed(f"restart policy {name}: restarts without limit, expected on-failure:{MAX_RETRIES}")


# -- 5.18 -------------------------------------------------------------------------------------------

def _ulimit_text(limit) -> str:
    return f"{limit.get('Name', '?')}={limit.get('Soft', '?')}:{limit.get('Hard', '?')}"


@container_check("container-no-ulimit-override", title="The container keeps the daemon's default ulimits",
                 rationale=("Per-container limits that deviate from the host-wide defaults can "
                            "lift the protection those defaults give against resource exhaustion, "
                            "so each should be a conscious choice."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#ulimit",
                             "https://docs.docker.com/reference/cli/dockerd/#default-ulimit-settings"))
def container_ulimit_override(container, facts):
    """Reads HostConfig.Ulimits and FAILs on any limit that differs (by name, soft and hard value)
    from the daemon's `default-ulimits` (flags + daemon.json), which dockerd copies into each
    container; none of its own PASSes. When the daemon configuration is unknown, limits are
    reported as INFO since an override cannot be told from a copied default."""
    ulimits = [u for u in container.get("HostConfig.Ulimits", []) or [] if isinstance(u, dict)]
    if not ulimits:
        return passed("no ulimits of its own: the daemon's defaults apply")
    # dockerd copies its default-ulimits into HostConfig.Ulimits of every container it creates, so a
    # limit equal to the daemon's default of that name is no override.
    config = daemon_config(facts)
    defaults = {} if config.error else (config.value("default-ulimits") or {})
    overrides = [u for u in ulimits
                 if not (isinstance(defaults.get(str(u.get("Name"))), dict)
                         and defaults[str(u.get("Name"))].get("Soft") == u.get("Soft")
                         and defaults[str(u.get("Name"))].get("Hard") == u.get("Hard"))]
    if overrides and config.error:
        # Cannot tell an override from the daemon's defaults copied in: evidence, not a finding.
        return info("ulimits " + ", ".join(_ulimit_text(u) for u in overrides) + " (whether they override the "
                    f"daemon's default-ulimits cannot be told: {config.error})")
    if overrides:
        return failed("overrides the default ulimits: " + ", ".join(_ulimit_text(u) for u in overrides))
    return passed("ulimits " + ", ".join(_ulimit_text(u) for u in ulimits) + " are the daemon's default-ulimits")


# -- 5.19 -------------------------------------------------------------------------------------------

@container_check("container-no-shared-propagation", title="No mount uses shared propagation",
                 rationale=("With shared propagation, mounts made inside the container appear on "
                            "the host (and the other way), so a container can alter the host's "
                            "mount table."),
                 references=("https://docs.docker.com/engine/storage/bind-mounts/#configure-bind-propagation",
                             "https://docs.kernel.org/filesystems/sharedsubtree.html"))
def container_shared_propagation(container, facts):
    """FAILs when any entry of the container's Mounts has Propagation `shared` or `rshared`, listing
    source and destination; PASSes otherwise."""
    shared = [f"{m.get('Source', '?')} -> {m.get('Destination', '?')} ({m.get('Propagation')})"
              for m in container.get("Mounts", []) or [] if str(m.get("Propagation", "")) in ("shared", "rshared")]
    if shared:
        return failed("shared propagation: " + ", ".join(shared))
    return passed("no shared mounts")
