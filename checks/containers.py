"""Per-container checks that need logic: users, capabilities, mounts, ports, restart policy,
security profiles and what the kernel reports about each container's main process."""
from __future__ import annotations

import posixpath

from bench.check import container_check, daemon_config, errored, failed, info, passed, skipped, warned


def _running(container) -> bool:
    return bool(container.get("State.Running", False))


# -- 4.1 --------------------------------------------------------------------------------------------

@container_check("container-user", title="The container runs as a non-root user")
def container_user(container, facts):
    user = str(container.get("Config.User", "") or "")
    name = user.split(":", 1)[0]
    # The verdict needs only the inspect data; the host uid (userns-remap) is a note where the
    # processes were seen (not on a remote engine, which would otherwise make 4.1 SKIP).
    status = {} if facts.processes.unavailable() else facts.processes.init_status.get(container.id, {})
    host_uid = status.get("Uid", "").split(" ")[0] if status.get("Uid") else ""
    mapped = f"; on the host it runs as uid {host_uid}" if host_uid and host_uid != "0" else ""
    if name in ("", "root", "0"):
        shown = "no user set" if not user else f"user {user}"
        return failed(f"{shown}: the process runs as root in the container{mapped}")
    return passed(f"user {user}")


# -- 5.1 / 5.2: mandatory access control ------------------------------------------------------------

def _security_options(facts) -> set[str]:
    options = facts.engine.info.get("SecurityOptions") or [] if facts.engine.info else []
    return {o.split(",")[0].removeprefix("name=") for o in options}


@container_check("container-apparmor", title="An AppArmor profile confines the container", needs=("engine",))
def container_apparmor(container, facts):
    if "apparmor" not in _security_options(facts):
        return skipped("AppArmor is not enabled on this host")
    profile = str(container.get("AppArmorProfile", "") or "")
    if profile in ("", "unconfined"):
        return failed(f"AppArmor profile: {profile or 'none'}")
    return passed(f"AppArmor profile {profile}")


@container_check("container-selinux", title="SELinux labels confine the container", needs=("engine",))
def container_selinux(container, facts):
    if "selinux" not in _security_options(facts):
        return skipped("SELinux is not enabled in the daemon")
    options = [str(o) for o in container.get("HostConfig.SecurityOpt", []) or []]
    if any(o.replace(":", "=", 1) == "label=disable" for o in options):
        return failed("SELinux labelling disabled (label=disable)")
    label = str(container.get("ProcessLabel", "") or "")
    if not label:
        return failed("no SELinux process label")
    return passed(f"process label {label}")


# -- 5.3 --------------------------------------------------------------------------------------------

@container_check("container-capabilities", title="The container adds no Linux capabilities")
def container_capabilities(container, facts):
    if container.get("HostConfig.Privileged", False):
        return failed("privileged: the container holds every capability")
    added = sorted(str(c) for c in container.get("HostConfig.CapAdd", []) or [])
    dropped = sorted(str(c) for c in container.get("HostConfig.CapDrop", []) or [])
    dropped_text = f"; dropped: {', '.join(dropped)}" if dropped else ""
    if added:
        return failed(f"added capabilities: {', '.join(added)}{dropped_text}")
    return passed(f"no capabilities added{dropped_text or '; none dropped beyond the default set'}")


# -- 5.5 --------------------------------------------------------------------------------------------

SENSITIVE_DIRS = ("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr")


def _sensitive(source: str) -> str:
    path = posixpath.normpath(source) if source else ""
    for base in SENSITIVE_DIRS:
        if path == base or (base != "/" and path.startswith(base + "/")):
            return base
    return ""


@container_check("container-sensitive-mounts", title="No sensitive host directory is mounted into the container")
def container_sensitive_mounts(container, facts):
    writable, read_only = [], []
    for mount in container.get("Mounts", []) or []:
        if mount.get("Type", "bind") != "bind":
            continue
        source = str(mount.get("Source", ""))
        if not _sensitive(source):
            continue
        shown = f"{source} -> {mount.get('Destination', '?')}"
        (writable if mount.get("RW", True) else read_only).append(shown)
    if writable:
        extra = f"; read-only: {', '.join(read_only)}" if read_only else ""
        return failed(f"read-write: {', '.join(writable)}{extra}")
    if read_only:
        return warned(f"read-only: {', '.join(read_only)} (still exposes host data)")
    return passed("no sensitive host directory mounted")


# -- 5.6 --------------------------------------------------------------------------------------------

SSH_DAEMONS = ("sshd", "dropbear")


@container_check("container-no-sshd", title="No SSH server runs in the container", needs=("processes",))
def container_no_sshd(container, facts):
    if not _running(container):
        return skipped("not running")
    found = [p for p in facts.processes.items if p.container_id == container.id and p.comm in SSH_DAEMONS]
    if found:
        return failed(", ".join(f"{p.comm} (host pid {p.pid})" for p in found) + " running")
    return passed("no SSH server process")


# -- 5.7, 5.8, 5.13: published ports ----------------------------------------------------------------

def port_bindings(container) -> list[tuple[str, str, str]]:
    """(container port, host ip, host port): the live bindings of a running container, else the
    requested ones (a created container has none live yet)."""
    ports = container.get("NetworkSettings.Ports", None) if _running(container) else None
    if not ports:
        ports = container.get("HostConfig.PortBindings", {}) or {}
    found = []
    for container_port, bindings in sorted(ports.items()):
        for binding in bindings or []:
            found.append((container_port, str(binding.get("HostIp", "") or ""), str(binding.get("HostPort", "") or "")))
    return found


@container_check("container-no-privileged-ports", title="No container port is published on a host port below 1024")
def container_privileged_ports(container, facts):
    low = [f"{ip or '*'}:{hp}->{cp}" for cp, ip, hp in port_bindings(container)
           if hp.isdigit() and 0 < int(hp) < 1024]
    if low:
        return failed("privileged host ports: " + ", ".join(sorted(set(low))))
    return passed("no host port below 1024")


@container_check("container-open-ports", title="Published ports (for a human to confirm each is needed)")
def container_open_ports(container, facts):
    bindings = sorted({f"{ip or '*'}:{hp or 'random'}->{cp}" for cp, ip, hp in port_bindings(container)})
    publish_all = container.get("HostConfig.PublishAllPorts", False)
    if publish_all:
        return warned("publishes every exposed port (-P): " + (", ".join(bindings) or "none yet"))
    if not bindings:
        return passed("publishes no ports")
    return info("publishes " + ", ".join(bindings))


WILDCARD_IPS = ("", "0.0.0.0", "::", "[::]")


@container_check("container-port-host-interface", title="Published ports are bound to a specific host interface")
def container_port_interface(container, facts):
    wide = sorted({f"{ip or '0.0.0.0'}:{hp or 'random'}->{cp}" for cp, ip, hp in port_bindings(container)
                   if ip in WILDCARD_IPS})
    if wide:
        return failed("bound to all interfaces: " + ", ".join(wide))
    return passed("every published port names a host address" if port_bindings(container) else "publishes no ports")


# -- 5.14 -------------------------------------------------------------------------------------------

MAX_RETRIES = 5


@container_check("container-restart-policy", title="Restart policy is on-failure with at most 5 retries, or none")
def container_restart_policy(container, facts):
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


# -- 5.17 -------------------------------------------------------------------------------------------

@container_check("container-no-host-devices", title="No host device is exposed to the container")
def container_host_devices(container, facts):
    devices = container.get("HostConfig.Devices", []) or []
    if container.get("HostConfig.Privileged", False):
        return failed("privileged: every host device is exposed")
    if devices:
        shown = [f"{d.get('PathOnHost', '?')}:{d.get('PathInContainer', '?')}:{d.get('CgroupPermissions', '?')}"
                 for d in devices]
        return failed("devices: " + ", ".join(shown))
    return passed("no host devices")


# -- 5.18 -------------------------------------------------------------------------------------------

def _ulimit_text(limit) -> str:
    return f"{limit.get('Name', '?')}={limit.get('Soft', '?')}:{limit.get('Hard', '?')}"


@container_check("container-no-ulimit-override", title="The container keeps the daemon's default ulimits")
def container_ulimit_override(container, facts):
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

@container_check("container-no-shared-propagation", title="No mount uses shared propagation")
def container_shared_propagation(container, facts):
    shared = [f"{m.get('Source', '?')} -> {m.get('Destination', '?')} ({m.get('Propagation')})"
              for m in container.get("Mounts", []) or [] if str(m.get("Propagation", "")) in ("shared", "rshared")]
    if shared:
        return failed("shared propagation: " + ", ".join(shared))
    return passed("no shared mounts")


# -- 5.21, 5.25: what the kernel enforces -----------------------------------------------------------

def _security_opts(container) -> list[str]:
    return [str(o).replace(":", "=", 1) for o in container.get("HostConfig.SecurityOpt", []) or []]


def _kernel_status(container, facts):
    """(what the kernel reports for the container's main process, or None; why it is unknown).
    Inspect data decides where /proc cannot be read (a remote engine); the kernel is a second
    opinion where it can."""
    if facts.processes.unavailable():
        return None, f" (kernel status not available: {facts.processes.unavailable()})"
    return facts.processes.init_status.get(container.id), ""


@container_check("container-seccomp", title="The default (or a custom) seccomp profile applies")
def container_seccomp(container, facts):
    if "seccomp=unconfined" in _security_opts(container):
        return failed("seccomp=unconfined")
    if container.get("HostConfig.Privileged", False):
        return failed("privileged: no seccomp filter applies")
    status, unknown = _kernel_status(container, facts)
    if unknown:
        return passed("no seccomp=unconfined option" + unknown)
    if status and status.get("Seccomp") == "0":
        return failed("the kernel reports no seccomp filter on the container's process")
    if status and status.get("Seccomp") == "2":
        return passed("seccomp filter active (kernel status)")
    if _running(container) and status is None:
        return passed("no seccomp=unconfined option (the process status could not be read)")
    return passed("no seccomp=unconfined option")


@container_check("container-no-new-privileges", title="The container cannot gain new privileges")
def container_no_new_privileges(container, facts):
    options = _security_opts(container)
    if any(o in ("no-new-privileges", "no-new-privileges=true") for o in options):
        return passed("security option no-new-privileges")
    status, unknown = _kernel_status(container, facts)
    if status and status.get("NoNewPrivs") == "1":
        return passed("the kernel reports NoNewPrivs=1 (set by the daemon's default)")
    if status and status.get("NoNewPrivs") == "0":
        return failed("the kernel reports NoNewPrivs=0 for the container's process")
    config = daemon_config(facts)  # an ERROR config (daemon not examined) simply does not vouch for it
    if not config.error and config.value("no-new-privileges") is True and (unknown or not _running(container)):
        return passed("the daemon applies no-new-privileges by default" + unknown)
    if _running(container) and status is None and not unknown:
        return errored("cannot read the container process's status to see NoNewPrivs")
    return failed("no-new-privileges is not set" + unknown)
