"""What confines a container's processes: AppArmor and SELinux (CIS 5.1, 5.2), seccomp (5.21) and
no-new-privileges (5.25). Where the kernel can be asked (the host's /proc/<pid>/status of a running
container's main process), its word decides; else the container's own options, and then the
daemon's defaults as the running daemon reports them."""
from __future__ import annotations

from bench.check import (container_check, daemon_view, errored, failed, no_new_privileges, passed,
                         seccomp_allows_everything, seccomp_profile, skipped)

# The daemon's defaults (no-new-privileges, its seccomp profile) come from the API where it says
# them, else from its files; the kernel's view of the process from the host's /proc.
DEFAULTS = ("engine", "daemon", "processes")


def _running(container) -> bool:
    return bool(container.get("State.Running", False))


def _kernel_status(container, facts):
    """(the kernel's /proc/<pid>/status fields for the container's main process, or None; why it
    cannot be known, or "" when it could be and simply was not there)."""
    if facts.processes.unavailable():
        return None, f"the kernel's view is not available: {facts.processes.unavailable()}"
    if not _running(container):
        return None, "not running"
    return facts.processes.init_status.get(container.id), ""


def _enabled(facts, name: str) -> bool:
    return name in daemon_view(facts).security_options


# -- 5.1 / 5.2: mandatory access control ------------------------------------------------------------

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
    if not _enabled(facts, "apparmor"):
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
    if not _enabled(facts, "selinux"):
        return skipped("SELinux is not enabled in the daemon")
    options = [str(o) for o in container.get("HostConfig.SecurityOpt", []) or []]
    if any(o.replace(":", "=", 1) == "label=disable" for o in options):
        return failed("SELinux labelling disabled (label=disable)")
    label = str(container.get("ProcessLabel", "") or "")
    if not label:
        return failed("no SELinux process label")
    return passed(f"process label {label}")


# -- 5.21 -------------------------------------------------------------------------------------------

@container_check("container-seccomp", title="The default (or a custom) seccomp profile applies", wants=DEFAULTS,
                 rationale=("The seccomp profile blocks dozens of rarely needed system calls that "
                            "have been the route of many kernel exploits; disabling it widens the "
                            "attack surface of the shared kernel."),
                 references=("https://docs.docker.com/engine/security/seccomp/",
                             "https://docs.kernel.org/userspace-api/seccomp_filter.html",
                             "https://man7.org/linux/man-pages/man5/proc_pid_status.5.html"))
def container_seccomp(container, facts):
    """FAILs a privileged container, one whose own option says `seccomp=unconfined` (`:` also
    read), and one whose custom profile blocks nothing (its defaultAction allows or only logs, and
    no rule denies a call: a filter the kernel counts as active, with unconfined's effect). A
    running container's main process is then judged as the kernel reports it in /proc/<pid>/status:
    `Seccomp: 2` (a filter) PASSes, `Seccomp: 0` FAILs, a status that could not be read is ERROR.
    Where the kernel cannot be asked (a stopped container, a remote engine) a custom profile PASSes,
    and with none the daemon's profile decides: `unconfined` (docker info SecurityOptions, else
    seccomp-profile in its flags and daemon.json) FAILs, any other PASSes."""
    own = seccomp_profile(container.get("HostConfig.SecurityOpt", []))
    if own == "unconfined":
        return failed("seccomp=unconfined")
    if container.get("HostConfig.Privileged", False):
        return failed("privileged: no seccomp filter applies")
    allows_all = seccomp_allows_everything(own) if own else ""
    if allows_all:
        return failed(f"its custom seccomp profile blocks no system call ({allows_all}): "
                      "a filter the kernel reports as active, with the effect of seccomp=unconfined")
    status, unknown = _kernel_status(container, facts)
    if status is not None:
        if status.get("Seccomp") == "2":
            return passed("seccomp filter active (kernel status)")
        if status.get("Seccomp") == "0":
            return failed("the kernel reports no seccomp filter on the container's process")
    if not unknown:
        return errored("the container runs, and its process's status (Seccomp) could not be read")
    if own:
        return passed(f"a custom seccomp profile ({unknown})")
    profile = daemon_view(facts).value("seccomp-profile")
    if profile.error:
        return errored(f"the daemon's seccomp profile is unknown ({profile.error}); {unknown}")
    name = str(profile.value or "default")
    return profile.verdict(name != "unconfined", f"the daemon's seccomp profile: {profile.describe()} ({unknown})"
                           if profile.is_set else f"the daemon's default seccomp profile ({unknown})")


# -- 5.25 -------------------------------------------------------------------------------------------

@container_check("container-no-new-privileges", title="The container cannot gain new privileges", wants=DEFAULTS,
                 rationale=("The no_new_privs flag keeps setuid and file-capability binaries from "
                            "raising a process's privileges, closing a common path from an "
                            "unprivileged foothold to root inside the container."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#security-opt",
                             "https://docs.kernel.org/userspace-api/no_new_privs.html",
                             "https://man7.org/linux/man-pages/man5/proc_pid_status.5.html"))
def container_no_new_privileges(container, facts):
    """A running container's main process is judged as the kernel reports it in /proc/<pid>/status:
    `NoNewPrivs: 1` PASSes, `0` FAILs, a status that could not be read is ERROR. Where the kernel
    cannot be asked (a stopped container, a remote engine) the container's own
    `no-new-privileges` option decides, read as dockerd does (`=false` overrides the daemon's
    default); with none, the daemon's default (docker info SecurityOptions on Engine 24 and later,
    else no-new-privileges in its flags and daemon.json): true PASSes, unset or false FAILs."""
    status, unknown = _kernel_status(container, facts)
    if status is not None and status.get("NoNewPrivs") in ("0", "1"):
        if status["NoNewPrivs"] == "1":
            return passed("the kernel reports NoNewPrivs=1 for the container's process")
        return failed("the kernel reports NoNewPrivs=0 for the container's process")
    if not unknown:
        return errored("the container runs, and its process's status (NoNewPrivs) could not be read")
    own = no_new_privileges(container.get("HostConfig.SecurityOpt", []))
    if own is not None:
        if own:
            return passed(f"security option no-new-privileges ({unknown})")
        return failed(f"security option no-new-privileges=false, which overrides the daemon's default ({unknown})")
    default = daemon_view(facts).value("no-new-privileges")
    if default.error:
        # Unknown even where the daemon is another host's: a container relying on it is not cleared.
        return errored(f"the daemon's default is unknown ({default.error}); {unknown}")
    if default.value is True:
        return default.verdict(True, f"the daemon applies no-new-privileges by default: {default.describe()} ({unknown})")
    return default.verdict(False, f"no-new-privileges is not set, neither by the container nor as the daemon's "
                                  f"default: {default.describe()} ({unknown})")
