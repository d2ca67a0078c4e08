"""Per-container checks that need logic: users, capabilities, mounts, ports, restart policy,
security profiles and what the kernel reports about each container's main process."""
from __future__ import annotations

import posixpath

from bench.check import container_check, daemon_config, errored, failed, info, passed, skipped, warned


def _running(container) -> bool:
    return bool(container.get("State.Running", False))


# -- 4.1 --------------------------------------------------------------------------------------------

@container_check("container-user", title="The container runs as a non-root user",
                 rationale=("A process running as root inside the container is root as far as the "
                            "kernel is concerned (unless remapped), so any escape or "
                            "misconfigured mount hands it host-level power."),
                 references=("https://docs.docker.com/engine/containers/run/#user",
                             "https://docs.docker.com/reference/dockerfile/#user",
                             "https://man7.org/linux/man-pages/man7/credentials.7.html"))
def container_user(container, facts):
    """Reads Config.User of each inspected container (running ones, or all with --all); its user
    part (before any `:`) empty, `root` or `0` FAILs, any other user PASSes. Where the host's
    /proc is readable, the uid the main process has on the host is added as a note only. No
    container SKIPs."""
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


@container_check("container-apparmor", title="An AppArmor profile confines the container", needs=("engine",),
                 rationale=("An AppArmor profile limits which files, mounts and capabilities the "
                            "container's processes can use, a second barrier if the namespaces "
                            "fail."),
                 references=("https://docs.docker.com/engine/security/apparmor/",
                             "https://docs.kernel.org/admin-guide/LSM/apparmor.html"))
def container_apparmor(container, facts):
    """SKIPs when `docker info` SecurityOptions does not list apparmor. Otherwise reads each
    container's AppArmorProfile: empty or `unconfined` FAILs, any named profile (docker-default
    or a custom one) PASSes."""
    if "apparmor" not in _security_options(facts):
        return skipped("AppArmor is not enabled on this host")
    profile = str(container.get("AppArmorProfile", "") or "")
    if profile in ("", "unconfined"):
        return failed(f"AppArmor profile: {profile or 'none'}")
    return passed(f"AppArmor profile {profile}")


@container_check("container-selinux", title="SELinux labels confine the container", needs=("engine",),
                 rationale=("SELinux labels confine each container to its own files and keep it "
                            "from touching the host's or other containers', even as root inside."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#security-opt",
                             "https://man7.org/linux/man-pages/man8/selinux.8.html",
                             "https://docs.kernel.org/admin-guide/LSM/SELinux.html"))
def container_selinux(container, facts):
    """SKIPs when `docker info` SecurityOptions does not list selinux. Otherwise FAILs a container
    with `label=disable` (or `label:disable`) in HostConfig.SecurityOpt or an empty ProcessLabel,
    and PASSes one with a process label."""
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

@container_check("container-capabilities", title="The container adds no Linux capabilities",
                 rationale=("Each capability added to the default set gives root in the container "
                            "another slice of host privilege (raw network, module loading, "
                            "mounts); a container should carry only what it needs."),
                 references=("https://docs.docker.com/engine/containers/run/#runtime-privilege-and-linux-capabilities",
                             "https://man7.org/linux/man-pages/man7/capabilities.7.html"))
def container_capabilities(container, facts):
    """FAILs a container that is privileged (HostConfig.Privileged) or adds any capability
    (HostConfig.CapAdd, listed); PASSes otherwise, reporting HostConfig.CapDrop as information."""
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


@container_check("container-sensitive-mounts", title="No sensitive host directory is mounted into the container",
                 rationale=("A container that can write to host system directories can change "
                            "binaries, configuration or devices of the host itself, escaping its "
                            "isolation without any exploit."),
                 references=("https://docs.docker.com/engine/storage/bind-mounts/",
                             "https://docs.docker.com/engine/security/#docker-daemon-attack-surface"))
def container_sensitive_mounts(container, facts):
    """Looks at each bind mount in the container's Mounts (volumes and tmpfs are skipped) whose
    source, normalised, is `/` or lies in /boot, /dev, /etc, /lib, /proc, /sys or /usr. A
    read-write one FAILs, read-only ones only WARN (they still expose host data), none PASSes."""
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


@container_check("container-no-sshd", title="No SSH server runs in the container", needs=("processes",),
                 rationale=("An SSH server inside a container is one more network service, with "
                            "its own keys and passwords to manage and patch; `docker exec` "
                            "already gives administrators a way in."),
                 references=("https://docs.docker.com/reference/cli/docker/container/exec/",
                             "https://man7.org/linux/man-pages/man8/sshd.8.html"))
def container_no_sshd(container, facts):
    """For each running container, scans the host's process table for processes whose
    /proc/<pid>/cgroup names the container's id and whose command name is sshd or dropbear; any
    FAILs, none PASSes. Nothing is executed inside the container; stopped containers and remote
    engines SKIP."""
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


@container_check("container-no-privileged-ports", title="No container port is published on a host port below 1024",
                 rationale=("Ports below 1024 are reserved for privileged services; publishing a "
                            "container there lets it stand in for such a service and skirts the "
                            "host's usual control over who may bind them."),
                 references=("https://docs.docker.com/engine/network/port-publishing/",
                             "https://man7.org/linux/man-pages/man7/capabilities.7.html"))
def container_privileged_ports(container, facts):
    """Reads the container's port bindings (NetworkSettings.Ports of a running container, else
    HostConfig.PortBindings) and FAILs when any host port is between 1 and 1023; otherwise
    PASSes."""
    low = [f"{ip or '*'}:{hp}->{cp}" for cp, ip, hp in port_bindings(container)
           if hp.isdigit() and 0 < int(hp) < 1024]
    if low:
        return failed("privileged host ports: " + ", ".join(sorted(set(low))))
    return passed("no host port below 1024")


@container_check("container-open-ports", title="Published ports (for a human to confirm each is needed)",
                 rationale=("Every published port exposes the container to whoever can reach the "
                            "host; only the ports the service needs should be open, and -P "
                            "publishes all exposed ones at once."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#publish",
                             "https://docs.docker.com/reference/cli/docker/container/run/#publish-all"))
def container_open_ports(container, facts):
    """Lists the container's published ports (NetworkSettings.Ports when running, else
    HostConfig.PortBindings) as INFO for a human to confirm; no published port PASSes, and
    HostConfig.PublishAllPorts (-P) WARNs."""
    bindings = sorted({f"{ip or '*'}:{hp or 'random'}->{cp}" for cp, ip, hp in port_bindings(container)})
    publish_all = container.get("HostConfig.PublishAllPorts", False)
    if publish_all:
        return warned("publishes every exposed port (-P): " + (", ".join(bindings) or "none yet"))
    if not bindings:
        return passed("publishes no ports")
    return info("publishes " + ", ".join(bindings))


WILDCARD_IPS = ("", "0.0.0.0", "::", "[::]")


@container_check("container-port-host-interface", title="Published ports are bound to a specific host interface",
                 rationale=("Binding to all interfaces exposes the service on every network the "
                            "host is attached to, including ones it was never meant for; naming "
                            "the address confines it."),
                 references=("https://docs.docker.com/engine/network/port-publishing/",
                             "https://docs.docker.com/engine/network/packet-filtering-firewalls/"))
def container_port_interface(container, facts):
    """FAILs when any of the container's port bindings (live NetworkSettings.Ports when running,
    else HostConfig.PortBindings) has an empty HostIp, 0.0.0.0 or ::, i.e. all host interfaces;
    PASSes when every binding names a host address, or nothing is published."""
    wide = sorted({f"{ip or '0.0.0.0'}:{hp or 'random'}->{cp}" for cp, ip, hp in port_bindings(container)
                   if ip in WILDCARD_IPS})
    if wide:
        return failed("bound to all interfaces: " + ", ".join(wide))
    return passed("every published port names a host address" if port_bindings(container) else "publishes no ports")


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


# -- 5.17 -------------------------------------------------------------------------------------------

@container_check("container-no-host-devices", title="No host device is exposed to the container",
                 rationale=("Direct access to a host device (a disk, the kernel memory, USB) lets "
                            "a container read or modify data and hardware beneath every isolation "
                            "layer."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#device",
                             "https://docs.docker.com/engine/containers/run/#runtime-privilege-and-linux-capabilities"))
def container_host_devices(container, facts):
    """FAILs a privileged container (every host device is exposed) or one with entries in
    HostConfig.Devices (listed as host path, container path, permissions); PASSes otherwise."""
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


@container_check("container-seccomp", title="The default (or a custom) seccomp profile applies",
                 rationale=("The seccomp profile blocks dozens of rarely needed system calls that "
                            "have been the route of many kernel exploits; disabling it widens the "
                            "attack surface of the shared kernel."),
                 references=("https://docs.docker.com/engine/security/seccomp/",
                             "https://docs.kernel.org/userspace-api/seccomp_filter.html",
                             "https://man7.org/linux/man-pages/man5/proc_pid_status.5.html"))
def container_seccomp(container, facts):
    """FAILs a container with `seccomp=unconfined` (or `seccomp:unconfined`) in
    HostConfig.SecurityOpt, a privileged one, or one whose main process the kernel reports with
    `Seccomp: 0` in /proc/<pid>/status; otherwise PASSes (`Seccomp: 2` confirms a filter). Where
    the process status cannot be read (stopped container, remote engine, unreadable /proc) it
    judges on the inspect data alone."""
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


@container_check("container-no-new-privileges", title="The container cannot gain new privileges",
                 rationale=("The no_new_privs flag keeps setuid and file-capability binaries from "
                            "raising a process's privileges, closing a common path from an "
                            "unprivileged foothold to root inside the container."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#security-opt",
                             "https://docs.kernel.org/userspace-api/no_new_privs.html",
                             "https://man7.org/linux/man-pages/man5/proc_pid_status.5.html"))
def container_no_new_privileges(container, facts):
    """PASSes when HostConfig.SecurityOpt holds `no-new-privileges` or `no-new-privileges=true` (`:`
    also accepted), or the kernel reports `NoNewPrivs: 1` for the main process; `NoNewPrivs: 0`
    FAILs. Without a kernel status (stopped container, remote engine) the daemon's
    `no-new-privileges` default set to true PASSes; a running container whose status cannot be read is
    ERROR; anything else FAILs."""
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
