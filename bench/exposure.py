"""What of the host a container reaches, read the way the Docker component that consumes each
setting reads it: published ports (moby daemon/network.go, go-connections nat), device cgroup rules
(moby oci/oci.go, runc's allow-list), and the host paths its binds and bind volumes name (moby's
filepath.Clean, the local volume driver). See container_values.py for the sources' versions.

Pure functions over plain values: no I/O. Checks import what they need from bench.check.
"""
from __future__ import annotations

import ipaddress
import posixpath
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

# -- published ports: moby daemon/network.go, go-connections nat, api/types/network --------------

@dataclass(frozen=True)
class PortBinding:
    container_port: str       # "80/tcp", as inspect keys it
    host_ip: str              # as recorded
    host_port: str            # as recorded: "8080", "1000-1100", "" or "0" (ephemeral)
    live: bool                # NetworkSettings.Ports of a running container: what dockerd bound

    def all_interfaces(self) -> bool:
        return binds_all_interfaces(self.host_ip)

    def host_ports(self) -> Optional[tuple[int, int]]:
        """(first, last) host port; None for an ephemeral one. ValueError when dockerd cannot read it."""
        return read_host_port(self.host_port)

    def text(self) -> str:
        ip = self.host_ip or "*"
        ip = f"[{ip}]" if ":" in ip and not ip.startswith("[") else ip
        port = self.host_port if self.host_port not in ("", "0") else "ephemeral"
        return f"{ip}:{port}->{self.container_port}"


def read_host_port(text: str) -> Optional[tuple[int, int]]:
    """HostPort as dockerd reads it (go-connections nat SplitProtoPort and ParsePortRange in v20.10;
    api/types/network ParsePortRange on master): a "/proto" suffix is ignored; "" and 0 are an
    ephemeral port; "A-B" a range dockerd picks one free port from (v20.10 reads only the first two
    parts of "A-B-C"); each number is ParseUint(10, 16): ASCII digits, no sign, at most 65535."""
    port = text.split("/", 1)[0]
    if not port:
        return None
    parts = port.split("-")
    if len(parts) == 1:
        parts = [parts[0], parts[0]]
    if not all(p.isascii() and p.isdigit() and int(p) <= 65535 for p in parts[:2]):
        raise ValueError(f"host port {text!r} is not a port or range dockerd reads")
    first, last = int(parts[0]), int(parts[1])
    if last < first:
        raise ValueError(f"host port range {text!r} ends before it starts")
    return None if (first, last) == (0, 0) else (first, last)


def binds_all_interfaces(host_ip: str) -> bool:
    """HostIp "" and the unspecified addresses (0.0.0.0, ::, ::ffff:0.0.0.0) bind every interface; so
    does any text Go's net.ParseIP rejects ("[::]", "localhost", "fe80::1%eth0"): dockerd v20.10 takes
    the nil address it gets as 0.0.0.0 and ::, seen live; later releases refuse such a binding."""
    if not host_ip or "%" in host_ip:
        return True
    try:
        address = ipaddress.ip_address(host_ip)
    except ValueError:
        return True
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_unspecified


def low_ports(binding: PortBinding, below: int = 1024) -> Optional[tuple[int, int]]:
    """The privileged host ports (1..below-1) the binding may take; None when it can take none."""
    ports = binding.host_ports()
    if ports is None or ports[0] >= below or ports[1] < 1:
        return None
    return max(ports[0], 1), min(ports[1], below - 1)


@dataclass(frozen=True)
class Publication:
    current: tuple[PortBinding, ...]     # what is published: live when running, else what will be
    requested: tuple[PortBinding, ...]   # HostConfig.PortBindings in effect (ranges a restart may use)
    discarded: str = ""                  # why HostConfig.PortBindings are not in effect


def _bindings(ports: Any, live: bool) -> list[PortBinding]:
    found = []
    for container_port, entries in sorted((ports or {}).items()):
        for entry in entries or []:
            if isinstance(entry, dict):
                found.append(PortBinding(container_port, str(entry.get("HostIp") or ""),
                                         str(entry.get("HostPort") or ""), live))
    return found


def published_ports(inspect: Mapping[str, Any]) -> Publication:
    """What a container publishes. dockerd discards port bindings under --network host (it warns)
    and none (no endpoint to map; seen live), and maps none on an --internal network (daemon/
    network.go buildCreateEndpointOptions): for a running container NetworkSettings.Ports is what
    was bound, and the requested bindings count only for container ports published now."""
    host_config = inspect.get("HostConfig") or {}
    mode = str(host_config.get("NetworkMode") or "")
    requested = _bindings(host_config.get("PortBindings"), live=False)
    if mode in ("host", "none"):
        return Publication((), (), f"--network {mode}: dockerd discards published ports" if requested else "")
    if not (inspect.get("State") or {}).get("Running"):
        return Publication(tuple(requested), tuple(requested))
    live_ports = (inspect.get("NetworkSettings") or {}).get("Ports")
    if live_ports is None:           # not recorded (an older engine): what was asked for
        return Publication(tuple(requested), tuple(requested))
    live = _bindings(live_ports, live=True)
    published = {b.container_port for b in live}
    return Publication(tuple(live), tuple(b for b in requested if b.container_port in published),
                       "" if live or not requested else "nothing bound (an --internal network, or no network)")


# -- devices: moby oci/oci.go AppendDevicePermissionsFromCgroupRules, runc specconv ------------------

# The rule syntax dockerd accepts (moby oci.go deviceCgroupRuleRegex; Go's $ is the end of the text).
_DEVICE_RULE = re.compile(r"([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})")
# What every container may already use (moby oci/defaults.go and runc specconv AllowedDevices):
# mknod of any node (c/b *:* m), and read-write on these character devices.
DEFAULT_DEVICES = frozenset({(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (10, 200), (136, None)})
_KNOWN_MAJORS = {("c", 1): "memory devices such as /dev/mem and /dev/port", ("c", 10): "misc devices",
                 ("c", 4): "terminals", ("c", 189): "USB devices", ("b", 8): "SCSI and SATA disks",
                 ("b", 259): "NVMe and other extended block devices", ("b", 7): "loop devices"}
_ACCESS = {"r": "read", "w": "write", "m": "mknod"}


@dataclass(frozen=True)
class DeviceRule:
    text: str
    kind: str                 # a, b or c
    major: Optional[int]      # None for *
    minor: Optional[int]
    access: str


def parse_device_rule(text: str) -> DeviceRule:
    """A --device-cgroup-rule as dockerd reads it; ValueError where dockerd refuses it."""
    match = _DEVICE_RULE.fullmatch(str(text))
    if not match:
        raise ValueError(f"device cgroup rule {text!r} is not in the form dockerd accepts")
    kind, major, minor, access = match.groups()
    if any(n != "*" and int(n) > 2**63 - 1 for n in (major, minor)):   # strconv.ParseInt(.., 10, 64)
        raise ValueError(f"device cgroup rule {text!r} has a number dockerd cannot read")
    return DeviceRule(str(text), kind, None if major == "*" else int(major), None if minor == "*" else int(minor),
                      access)


def device_rule_grant(rule: DeviceRule) -> str:
    """What the rule lets the container use beyond the default device allow-list; "" when nothing.
    Type a is every device with full access whatever numbers and access it names: cgroup v1 clears
    the exception list for "a" and runc's v2 emulator allows everything (devices_emulator.go Apply)."""
    if rule.kind == "a":
        return "every host device, read, write and mknod"
    if not set(rule.access) & {"r", "w"}:
        return ""                 # mknod alone: already allowed for every device
    if rule.kind == "c" and rule.major is not None and (
            (rule.major, rule.minor) in DEFAULT_DEVICES or (rule.major, None) in DEFAULT_DEVICES):
        return ""
    what = "character" if rule.kind == "c" else "block"
    access = ", ".join(_ACCESS[a] for a in "rwm" if a in rule.access)
    if rule.major is None:
        target = f"every {what} device" + (f" with minor {rule.minor}" if rule.minor is not None else "")
    else:
        known = _KNOWN_MAJORS.get((rule.kind, rule.major))
        numbers = f"{rule.major}:{'*' if rule.minor is None else rule.minor}"
        target = f"{what} devices {numbers}" + (f" ({known})" if known else "")
    return f"{access} on {target}"


def device_request_text(request: Mapping[str, Any]) -> str:
    """One HostConfig.DeviceRequests entry (--gpus): driver, which devices, capabilities."""
    count = request.get("Count")
    ids = request.get("DeviceIDs") or []
    which = "all devices" if count == -1 else (f"devices {', '.join(map(str, ids))}" if ids else f"{count or 0} device(s)")
    caps = " or ".join("+".join(map(str, group)) for group in request.get("Capabilities") or [] if group)
    return f"{request.get('Driver') or 'any driver'}: {which}" + (f" ({caps})" if caps else "")


# -- host paths: moby volume/mounts (filepath.Clean), the local volume driver ----------------------

def clean_path(path: str) -> str:
    """Go's filepath.Clean, which dockerd applies to a bind source: repeated slashes (leading ones
    too, which POSIX normpath keeps as "//"), "." and ".." resolved lexically. Symlinks are the
    host's business: see `sensitive_dir`."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def sensitive_dir(source: str, resolved: Mapping[str, str], directories: Iterable[str]) -> tuple[str, str]:
    """(the sensitive directory `source` is or lies in, or "", the host path judged). `resolved`
    maps a source, as recorded, to the path the host resolves it to (symlinks followed: on a merged-
    /usr host /bin is /usr/bin); without one the source is cleaned lexically as dockerd does."""
    if not source:
        return "", ""
    path = resolved.get(source) or resolved.get(clean_path(source)) or clean_path(source)
    if not path.startswith("/"):
        # A relative volume device is resolved by mount(2) from dockerd's working directory, / as
        # systemd starts it.
        path = clean_path("/" + path)
    for base in sorted({clean_path(d) for d in directories}, key=len, reverse=True):
        if path == base or (base != "/" and path.startswith(base + "/")):
            return base, path
    return "", path


@dataclass(frozen=True)
class HostSource:
    source: str               # the host path as recorded (bind Source, or the volume's device option)
    destination: str
    writable: bool
    via: str                  # "bind", or "volume NAME"
    unknown: str = ""         # why the host path cannot be told


def _bind_flags(options: str) -> set[str]:
    return {o.strip() for o in options.split(",")}


def host_sources(mounts: Any, volumes: Mapping[str, Any]) -> list[HostSource]:
    """The host paths a container's Mounts reach: binds (Engine 1.11 Mounts have no Type; a mount
    without a volume name is a bind), and local-driver volumes whose options bind a device path
    (`docker volume create -o type=none -o o=bind -o device=/etc`): the local driver passes o to
    mount(2) through moby/sys/mount, where bind or rbind among the comma-separated flags makes a bind
    and ro makes it read-only whatever the container's mount says. `volumes` maps a volume name to
    its GET /volumes/NAME body; a local volume missing from it cannot be told."""
    found = []
    for mount in mounts or []:
        if not isinstance(mount, dict):
            continue
        kind, name = mount.get("Type"), str(mount.get("Name") or "")
        destination, writable = str(mount.get("Destination") or "?"), mount.get("RW", True) is not False
        if kind == "bind" or (kind is None and not name):
            found.append(HostSource(str(mount.get("Source") or ""), destination, writable, "bind"))
        elif (kind in ("volume", None)) and str(mount.get("Driver") or "local") == "local":
            volume = volumes.get(name)
            if not isinstance(volume, dict):
                found.append(HostSource("", destination, writable, f"volume {name}",
                                        unknown=f"the options of local volume {name} were not recorded"))
                continue
            options = volume.get("Options") or {}
            flags = _bind_flags(str(options.get("o") or ""))
            if flags & {"bind", "rbind"} and options.get("device"):
                found.append(HostSource(str(options["device"]), destination, writable and "ro" not in flags,
                                        f"volume {name}"))
    return found
