"""Per-container checks of what of the host a container reaches: host directories (5.5), published
ports (5.7, 5.8, 5.13), host devices (5.17) and the daemon's sockets (5.32 of v1.6.0 and later),
each read as dockerd, runc and the host read it (bench/container_values.py)."""
from __future__ import annotations

from bench.check import (binds_all_interfaces, clean_path, container_check, daemon_view, device_request_text, device_rule_grant, errored,
                         failed, host_sources, info, low_ports, parse_device_rule, passed, published_ports,
                         sensitive_dir, skipped, warned)

# -- 5.5 --------------------------------------------------------------------------------------------

# CIS v1.11 lists /, /boot, /dev, /etc, /lib, /proc, /sys and /usr; v1.7.0 and later add /lib64.
SENSITIVE_DIRS = ("/", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/sys", "/usr")


def _directories(name: str, value: object) -> tuple[str, ...]:
    """--param container-sensitive-mounts.directories=/,/etc,...: absolute paths, comma-separated."""
    items = [v.strip() for v in str(value).split(",") if v.strip()] if isinstance(value, str) else list(value)
    if not items or not all(isinstance(d, str) and d.startswith("/") for d in items):
        raise ValueError("directories takes absolute paths separated by commas, such as /,/etc,/usr")
    return tuple(clean_path(d) for d in items)


@container_check("container-sensitive-mounts", title="No sensitive host directory is mounted into the container",
                 params={"directories": SENSITIVE_DIRS}, prepare=_directories, wants=("processes",),
                 rationale=("A container that can write to host system directories can change "
                            "binaries, configuration or devices of the host itself, escaping its "
                            "isolation without any exploit."),
                 references=("https://docs.docker.com/engine/storage/bind-mounts/",
                             "https://docs.docker.com/engine/storage/volumes/#create-and-manage-volumes",
                             "https://docs.docker.com/engine/security/#docker-daemon-attack-surface"))
def container_sensitive_mounts(container, facts, params):
    """Looks at the host paths each container's Mounts reach: bind sources, and the device of a
    local-driver volume whose options bind a host path (`-o type=none -o o=bind -o device=/etc`,
    from the recorded volume inspect data). Each path is taken as the host resolves it (the recorded
    resolution, symlinks followed, so /bin is /usr/bin on a merged-/usr host) or, failing that,
    cleaned as dockerd cleans it (`//etc`, `/etc/` and `/usr/../etc` are /etc). One that is, or lies
    in, a sensitive directory (`/` itself; /boot, /dev, /etc, /lib, /lib64, /proc, /sys, /usr and
    anything below them; change the list with --param container-sensitive-mounts.directories=...)
    FAILs when writable and WARNs when read-only (it still exposes host data). Read-only is judged
    by what the kernel mounted, where the container's /proc/<pid>/mountinfo was read: a read-only
    bind of / or /dev with submounts the kernel has read-write (binds are not recursively read-only
    before Engine 25) FAILs. A local volume whose options were not recorded is ERROR; none PASSes.
    tmpfs and other volumes are not host paths."""
    directories = params["directories"]
    directories = _directories("directories", directories) if isinstance(directories, str) else directories
    resolved = facts.containers.resolved_paths
    writable, read_only, unknown = [], [], []
    for source in host_sources(container.get("Mounts", []), facts.containers.volumes):
        if source.unknown:
            unknown.append(source.unknown)
            continue
        base, path = sensitive_dir(source.source, resolved, directories)
        if not base:
            continue
        via = "" if source.via == "bind" else f" ({source.via})"
        real = f" (= {path})" if path != source.source else ""
        shown = f"{source.source}{real}{via} -> {source.destination}"
        if source.writable:
            writable.append(shown)
            continue
        under = _writable_under(container, facts, source.destination)
        if under:
            # Read-only binds are not recursive before Engine 25 (rro): what is mounted below stays writable.
            writable.append(f"{shown} read-only, but the kernel has {', '.join(under)} mounted read-write")
        else:
            read_only.append(shown)
    if writable:
        extra = f"; read-only: {', '.join(read_only)}" if read_only else ""
        return failed(f"read-write: {', '.join(writable)}{extra}")
    if unknown:
        return errored("cannot tell which host directories it mounts: " + "; ".join(unknown))
    if read_only:
        return warned(f"read-only: {', '.join(read_only)} (still exposes host data)")
    return passed("no sensitive host directory mounted")


def _writable_under(container, facts, destination: str) -> list[str]:
    """Mounts at or below `destination` that the kernel has read-write for the container's process
    (from its /proc/<pid>/mountinfo), where that was recorded."""
    mounts = None if facts.processes.unavailable() else (facts.processes.mounts or {}).get(container.id)
    base = destination.rstrip("/") or "/"
    found = []
    for mount in mounts or []:
        inside = mount.target == base or mount.target.startswith(base.rstrip("/") + "/")
        if inside and "rw" in mount.options.split(","):
            found.append(mount.target)
    return found


# -- 5.7, 5.8, 5.13: published ports ----------------------------------------------------------------

def _unreadable(bindings) -> list[str]:
    bad = []
    for binding in bindings:
        try:
            binding.host_ports()
        except ValueError as exc:
            bad.append(str(exc))
    return bad


@container_check("container-no-privileged-ports", title="No container port is published on a host port below 1024",
                 rationale=("Ports below 1024 are reserved for privileged services; publishing a "
                            "container there lets it stand in for such a service and skirts the "
                            "host's usual control over who may bind them."),
                 references=("https://docs.docker.com/engine/network/port-publishing/",
                             "https://man7.org/linux/man-pages/man7/capabilities.7.html"))
def container_privileged_ports(container, facts):
    """Reads the host ports the container publishes: for a running one, those dockerd bound
    (NetworkSettings.Ports) and the requested ranges of the ports it publishes (a restart may take
    another port of a range); for a stopped one, HostConfig.PortBindings. Host ports are read as
    dockerd reads them: `80-90` is a range dockerd picks from, `0` or empty an ephemeral port.
    FAILs when a binding is, or may be, a host port between 1 and 1023; bindings dockerd discards
    (--network host or none) or did not make (an --internal network) do not count. A host port
    dockerd cannot read WARNs; otherwise PASSes."""
    publication = published_ports(container.inspect)
    low = []
    for binding in publication.current + publication.requested:
        try:
            ports = low_ports(binding)
        except ValueError:
            continue
        if ports:
            first, last = binding.host_ports()
            taken = f"{ports[0]}" if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"
            low.append(binding.text() + ("" if first == last else f" (may take {taken})"))
    if low:
        return failed("privileged host ports: " + ", ".join(sorted(set(low))))
    bad = _unreadable(publication.current)
    if bad:
        return warned("; ".join(bad))
    if publication.discarded:
        return passed(f"no host port below 1024 ({publication.discarded})")
    return passed("no host port below 1024")


@container_check("container-open-ports", title="Published ports (for a human to confirm each is needed)",
                 rationale=("Every published port exposes the container to whoever can reach the "
                            "host; only the ports the service needs should be open, and -P "
                            "publishes all exposed ones at once."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#publish",
                             "https://docs.docker.com/reference/cli/docker/container/run/#publish-all"))
def container_open_ports(container, facts):
    """Lists the ports the container publishes (what dockerd bound, NetworkSettings.Ports, for a
    running container; HostConfig.PortBindings for a stopped one, host port ranges as written) as
    INFO for a human to confirm; no published port PASSes, and HostConfig.PublishAllPorts (-P) WARNs.
    Bindings dockerd discards (--network host or none) are not published."""
    publication = published_ports(container.inspect)
    bindings = sorted({b.text() for b in publication.current})
    discarded = f" ({publication.discarded})" if publication.discarded else ""
    if container.get("HostConfig.PublishAllPorts", False) and not publication.discarded.startswith("--network"):
        return warned("publishes every exposed port (-P): " + (", ".join(bindings) or "none yet"))
    if not bindings:
        return passed("publishes no ports" + discarded)
    return info("publishes " + ", ".join(bindings))


@container_check("container-port-host-interface", title="Published ports are bound to a specific host interface",
                 rationale=("Binding to all interfaces exposes the service on every network the "
                            "host is attached to, including ones it was never meant for; naming "
                            "the address confines it."),
                 references=("https://docs.docker.com/engine/network/port-publishing/",
                             "https://docs.docker.com/engine/network/packet-filtering-firewalls/"))
def container_port_interface(container, facts):
    """FAILs when any port the container publishes (what dockerd bound when running, else
    HostConfig.PortBindings) is bound to all host interfaces: an empty HostIp, an unspecified
    address (0.0.0.0, ::, ::ffff:0.0.0.0) or one Go cannot parse (`[::]`, `localhost`), which
    dockerd 20.10 binds as 0.0.0.0 and ::. PASSes when every binding names a host address (such as
    127.0.0.1 or ::1), or nothing is published (bindings discarded by --network host or none do
    not count). A container not running, on the default bridge, binds a port without HostIp to the
    default bridge's address (dockerd --ip / daemon.json `ip`, as the running daemon reports it on
    the bridge): one that names an address counts as that address."""
    publication = published_ports(container.inspect)
    default_ip = _default_binding_ip(container, facts, publication)
    wide = sorted({b.text() for b in publication.current
                   if b.all_interfaces() and not (default_ip and not b.live and not b.host_ip)})
    if wide:
        return failed("bound to all interfaces: " + ", ".join(wide))
    if publication.current:
        return passed("every published port names a host address"
                      + (f" (those without one take the daemon's default, ip={default_ip})" if default_ip else ""))
    return passed("publishes no ports" + (f" ({publication.discarded})" if publication.discarded else ""))


def _default_binding_ip(container, facts, publication) -> str:
    """The address dockerd will bind a stopped container's ports without HostIp to, when that is
    not every interface: the default bridge's host binding address (--ip). User-defined networks
    have their own (com.docker.network.bridge.host_binding_ipv4), not recorded: "" there."""
    if not any(not b.live and not b.host_ip for b in publication.current):
        return ""
    if str(container.get("HostConfig.NetworkMode", "") or "default") not in ("default", "bridge"):
        return ""
    setting = daemon_view(facts).value("ip")
    value = str(setting.value or "") if not setting.error else ""
    return value if value and not binds_all_interfaces(value) else ""


# -- 5.17 -------------------------------------------------------------------------------------------

@container_check("container-no-host-devices", title="No host device is exposed to the container",
                 rationale=("Direct access to a host device (a disk, the kernel memory, USB) lets "
                            "a container read or modify data and hardware beneath every isolation "
                            "layer."),
                 references=("https://docs.docker.com/reference/cli/docker/container/run/#device",
                             "https://docs.docker.com/reference/cli/docker/container/run/#device-cgroup-rule",
                             "https://docs.docker.com/reference/cli/docker/container/run/#gpus",
                             "https://docs.kernel.org/admin-guide/cgroup-v1/devices.html"))
def container_host_devices(container, facts):
    """FAILs a privileged container (every host device is exposed); one with entries in
    HostConfig.Devices (listed as host path, container path, permissions); one with a
    HostConfig.DeviceCgroupRules rule, read as dockerd reads `type major:minor access`, that grants
    read or write beyond the devices every container may use (`a` is every device whatever it names;
    `c *:* rwm` every character device; `b 8:* rw` the SCSI disks; mknod alone grants nothing new);
    and one with HostConfig.DeviceRequests (--gpus). A rule dockerd cannot read WARNs. PASSes
    otherwise."""
    if container.get("HostConfig.Privileged", False):
        return failed("privileged: every host device is exposed")
    findings, unreadable = [], []
    devices = container.get("HostConfig.Devices", []) or []
    if devices:
        findings.append("devices: " + ", ".join(
            f"{d.get('PathOnHost', '?')}:{d.get('PathInContainer', '?')}:{d.get('CgroupPermissions', '?')}"
            for d in devices))
    for text in container.get("HostConfig.DeviceCgroupRules", []) or []:
        try:
            grant = device_rule_grant(parse_device_rule(text))
        except ValueError as exc:
            unreadable.append(str(exc))
            continue
        if grant:
            findings.append(f"device cgroup rule '{text}' grants {grant}")
    requests = [r for r in container.get("HostConfig.DeviceRequests", []) or [] if isinstance(r, dict)]
    if requests:
        findings.append("device requests (--gpus): " + ", ".join(device_request_text(r) for r in requests))
    if findings:
        return failed("; ".join(findings))
    if unreadable:
        return warned("; ".join(unreadable) + " (dockerd refuses to start it)")
    return passed("no host devices")


# -- 5.32: the daemon's sockets ---------------------------------------------------------------------

# Where dockerd puts its API socket unless told otherwise (/var/run is /run on FHS 3.0 hosts).
DEFAULT_API_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def _run_aliases(path: str) -> set[str]:
    """/var/run/X and /run/X: one directory on every FHS 3.0 host (/var/run links to /run), taken as
    one where the host's own resolution was not recorded."""
    for a, b in (("/var/run/", "/run/"), ("/run/", "/var/run/")):
        if path.startswith(a):
            return {path, b + path[len(a):]}
    return {path}


def _socket_targets(facts) -> tuple[list[tuple[str, str, str]], str, bool]:
    """(host path as resolved, path as named, what it is) of each socket that controls the daemon;
    why they are unknown (then dockerd's default API socket stands in); whether the daemon is on
    another host."""
    view = daemon_view(facts)
    sockets, unknown = view.control_sockets()
    remote = bool(facts.daemon.skipped)
    if unknown or not sockets:
        sockets = [(p, "dockerd's default API socket") for p in DEFAULT_API_SOCKETS]
        unknown = unknown or "the daemon's sockets are unknown"
    resolved = facts.containers.resolved_paths
    targets = []
    for path, what in sockets:
        recorded = resolved.get(path)
        for form in ({recorded} if recorded else _run_aliases(clean_path(path))):
            targets.append((form, path, what))
    return targets, unknown, remote


@container_check("container-no-api-socket-mount", title="No socket that controls the daemon is mounted into the container",
                 wants=("daemon",),
                 rationale=("Whoever can connect to the Docker API socket (or to the containerd socket beneath "
                            "it) can start a privileged container and so owns the host; a container given the "
                            "socket, even read-only, hands that to whatever runs in it."),
                 references=("https://docs.docker.com/engine/security/#docker-daemon-attack-surface",
                             "https://docs.docker.com/engine/security/protect-access/",
                             "https://docs.docker.com/reference/cli/dockerd/#daemon-socket-option"))
def container_no_api_socket_mount(container, facts):
    """Looks at the host paths the container's Mounts reach (bind sources, and local volumes that
    bind a host path) against every unix socket that controls the daemon: the API's unix sockets
    as the daemon view knows them (those the dockerd process listens on, read from the host's /proc;
    else its configuration's: /var/run/docker.sock by default, any -H unix:// path, a socket unit's)
    and the containerd socket dockerd drives (--containerd; else the system one, or the one it
    starts under its exec root). Paths are compared as the host resolves them (symlinks followed,
    so /var/run/docker.sock is /run/docker.sock; a symlink to the socket is the socket), or cleaned
    as dockerd cleans them where no resolution was recorded (then /var/run and /run are taken as
    one), and by device and inode where recorded (a hard link to a socket, or a path a socket is
    bind-mounted over, is the socket). A bind of a socket, or of a directory that contains one (/run, /var/run, /), FAILs, read-only
    or not (connecting to a socket needs no write access to the mount). Where the daemon's
    sockets are unknown, dockerd's default socket paths are looked for: a hit FAILs, otherwise it is
    ERROR (SKIP for an engine on another host). A local volume whose options were not recorded is
    ERROR; PASS otherwise."""
    found = facts.derived.get("control_socket_targets")
    if found is None:   # the same for every container: worked out once per audit
        found = facts.derived["control_socket_targets"] = _socket_targets(facts)
    targets, unknown, remote = found
    resolved, ids = facts.containers.resolved_paths, facts.containers.path_ids
    hits, undecided = [], []
    for source in host_sources(container.get("Mounts", []), facts.containers.volumes):
        if source.unknown:
            undecided.append(source.unknown)
            continue
        if not source.source:
            continue
        path = resolved.get(source.source) or resolved.get(clean_path(source.source)) or clean_path(source.source)
        via = "" if source.via == "bind" else f" ({source.via})"
        identity = ids.get(path)
        for real, named, what in targets:
            if path == real:
                hits.append(f"{source.source}{via} -> {source.destination} is {what} {named}")
            elif identity is not None and identity == ids.get(real):
                hits.append(f"{source.source}{via} -> {source.destination} is {what} {named} under another "
                            "name (the same device and inode: a hard link, or a path bound over it)")
            elif real.startswith(path.rstrip("/") + "/"):
                hits.append(f"{source.source}{via} -> {source.destination} contains {what} {named}")
    if hits:
        return failed("; ".join(dict.fromkeys(hits)))
    if undecided:
        return errored("cannot tell which host paths it mounts: " + "; ".join(undecided))
    if unknown:
        why = f"mounts none of dockerd's default API socket paths, but {unknown}"
        return skipped(why) if remote else errored(why)
    return passed("mounts no socket of the daemon")
