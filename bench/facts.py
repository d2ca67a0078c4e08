"""Facts: everything the audit knows about a host, as plain data with a JSON round-trip.

Collectors (bench/collect/) fill these in; checks only read them. Every group carries `error` (the
fact could not be collected: checks that need it are ERROR) and `skipped` (the fact does not apply
here, e.g. host files of a remote engine: checks that need it are SKIP). A group starts out as
"not collected", so a check can never pass on a fact nobody looked at.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Optional


# 2: the daemon's listeners, working directory, root, environment and start time; the default
# bridge; container volumes, resolved host paths, uid maps and kernel mounts; referenced
# containers. Version 1 files load, and what they lack reads as "not in this recording".
# 3: images' config (user, health check, names of environment variables and labels) and history.
# 4: the device and inode of resolved host paths (bind sources, the daemon's sockets).
SCHEMA_VERSION = 4
NOT_COLLECTED = "not collected in this run"
NOT_RECORDED = "not in this recording (recorded by an earlier release)"


@dataclass
class Probe:
    error: Optional[str] = NOT_COLLECTED
    skipped: Optional[str] = None

    def unavailable(self) -> Optional[str]:
        return self.error or self.skipped


@dataclass
class HostFacts(Probe):
    RETIRED_FIELDS: ClassVar[frozenset[str]] = frozenset({"auditor_uid"})

    hostname: str = ""
    kernel_release: Optional[str] = None
    os_name: Optional[str] = None
    root: str = "/"
    # Only the variables that checks read (e.g. DOCKER_CONTENT_TRUST); never the whole environment.
    environment: dict[str, str] = field(default_factory=dict)
    # Listening sockets, "tcp 0.0.0.0:22 sshd", as evidence for a human (CIS 1.4).
    listening: list[str] = field(default_factory=list)
    listening_error: Optional[str] = None
    # The docker CLI the audit's PATH finds: content trust (CIS 4.5) is a client setting, and
    # CLI 29.0 dropped it. None: not recorded (facts from earlier releases, --root, remote).
    docker_cli: Optional["DockerCLI"] = None
    docker_cli_error: Optional[str] = None


@dataclass
class DockerCLI:
    path: str = ""       # "" when PATH has no docker
    version: str = ""    # "28.2.2"; "" when the binary is not Docker's CLI (podman's, a wrapper)
    banner: str = ""     # the first line `docker --version` printed


@dataclass
class Listener:
    """A socket a process listens on, as the kernel lists it."""

    kind: str        # tcp | unix
    address: str     # "0.0.0.0:2375", "[::]:2376", "127.0.0.1:2376", "/run/docker.sock"


@dataclass
class RelatedProcess:
    """A process that shows what the daemon runs: a containerd (the one dockerd manages is its child,
    or was one of an earlier dockerd with the same exec root), or a userland proxy dockerd started
    for a published port. Only these are recorded, with their command line (no secrets in either)."""

    pid: int
    ppid: Optional[int]
    program: str                                  # basename of argv[0] (or the process name)
    argv: list[str] = field(default_factory=list)
    listeners: Optional[list[Listener]] = None    # its listening sockets; None: could not be read


@dataclass
class DaemonFacts(Probe):
    """The dockerd that serves the API socket the audit talks to, and the daemon.json it reads.

    Fields left None were not recorded (a facts file of an earlier release): checks that need them
    say so rather than guess."""

    pid: Optional[int] = None
    exe: Optional[str] = None
    argv: list[str] = field(default_factory=list)
    uid: Optional[int] = None
    found_by: str = ""
    other_daemons: list[int] = field(default_factory=list)
    config_file: Optional[str] = None
    config_file_source: str = ""
    config_text: Optional[str] = None     # None: no such file (dockerd then runs on flags alone)
    config_error: Optional[str] = None    # the file exists but could not be read
    rootless: bool = False
    # What the kernel says of the process: where it runs (relative paths in its argv are relative to
    # cwd, and every path to its root), the variables dockerd reads for defaults, when it started,
    # and every socket it listens on (socket activation included: the inherited sockets are its own).
    cwd: Optional[str] = None
    proc_root: Optional[str] = None
    environ: Optional[dict[str, str]] = None
    started_at: Optional[float] = None    # seconds since the epoch
    listeners: Optional[list[Listener]] = None
    listeners_error: Optional[str] = None
    same_mount_namespace: Optional[bool] = None   # as the auditor's: its socket paths are ours
    # When the daemon.json it reads last changed (content, inode or the symlink naming it; see
    # Host.changed_at), seconds since the epoch. Recorded before schema 4 as its mtime alone.
    config_mtime: Optional[float] = None
    # Every containerd process on the host and the daemon's userland-proxy children: which containerd
    # socket the daemon uses, and whether it runs docker-proxy. None: not recorded.
    related_processes: Optional[list[RelatedProcess]] = None


@dataclass
class EngineFacts(Probe):
    endpoint: str = ""
    local: bool = True
    version: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    # How this audit reached the engine: unix, ssh, tcp (plain) or tls. An audit that reached it over
    # plain tcp has seen the API served without TLS.
    transport: Optional[str] = None
    # GET /networks/bridge: the default bridge as the running daemon set it up (icc, the default
    # binding address); None when not recorded, {} when the daemon has no default bridge.
    default_bridge: Optional[dict[str, Any]] = None
    default_bridge_error: Optional[str] = None


@dataclass
class FileFacts:
    path: str
    exists: bool = False
    kind: Optional[str] = None            # file, dir, socket, fifo, char, block, symlink (dangling)
    mode: Optional[int] = None            # permission bits only (0o7777)
    uid: Optional[int] = None
    gid: Optional[int] = None
    owner: Optional[str] = None
    group: Optional[str] = None
    link: Optional[str] = None            # where the path points, when it is a symlink
    resolved: Optional[str] = None        # the file that was judged, when it differs from path
    content: Optional[str] = None         # of the few small files whose text matters (socket units)
    error: Optional[str] = None
    # Its access ACL's named entries and mask, as getfacl writes them ("user:1000:rw-",
    # "mask::rw-"): access the mode does not show (the group bits then show the mask).
    acl: list[str] = field(default_factory=list)


@dataclass
class FilesFacts(Probe):
    files: dict[str, FileFacts] = field(default_factory=dict)
    # role -> paths found on this host: "docker.service" -> ["/lib/systemd/system/docker.service"].
    locations: dict[str, list[str]] = field(default_factory=dict)
    # role -> why it has no paths or how they were found, for a human.
    notes: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerFacts:
    id: str
    name: str
    inspect: dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None


@dataclass
class ContainersFacts(Probe):
    scope: str = "running"                # running | all: which containers were collected
    # Which the user asked to judge (--all or not): an edition may collect stopped containers the
    # user did not ask about. "" in facts from earlier releases, where scope said both.
    requested: str = ""
    items: list[ContainerFacts] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Volume name -> its GET /volumes/NAME body, for the local-driver volumes the containers mount:
    # a local volume's Options can bind a host directory (type=none, o=bind, device=/etc). A volume
    # missing here cannot be judged (facts recorded before this field have none).
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # A host path as recorded (a bind's Source, a bind volume's device option) -> the path the host
    # resolves it to, symlinks followed (/bin -> /usr/bin on a merged-/usr host). Paths missing here
    # are read lexically, as dockerd cleans them.
    resolved_paths: dict[str, str] = field(default_factory=dict)
    # A resolved host path -> [st_dev, st_ino]: two paths with one identity are one file (a hard
    # link, a path bind-mounted over another), which no resolution of names shows.
    path_ids: dict[str, list[int]] = field(default_factory=dict)
    # Containers the audited ones share a namespace with (--network/--pid/--ipc container:X) that
    # are not audited themselves (stopped, or left out by --include/--exclude): their settings decide.
    referenced: list[ContainerFacts] = field(default_factory=list)


@dataclass
class ImageConfig:
    """What an image's inspect says it runs with (Config), without a single value of its variables,
    labels or commands."""

    user: str = ""
    # Config.Healthcheck.Test with its arguments dropped, as a container's is ("CMD-SHELL",
    # "<redacted>"); ["NONE"] for HEALTHCHECK NONE; None: the image has no health check.
    healthcheck: Optional[list[str]] = None
    # Variable and label names -> whether a non-empty value is set. The values are never kept.
    env: dict[str, bool] = field(default_factory=dict)
    labels: dict[str, bool] = field(default_factory=dict)


@dataclass
class HistoryEntry:
    """One line of `docker history`, oldest last as the Engine API lists them. created_by is
    redacted (bench/redact.py): values of variables, build arguments and labels, and whatever looks
    like a credential, are replaced; the instructions and commands stay."""

    created_by: str = ""
    created: Optional[int] = None         # seconds since the epoch
    size: int = 0                         # bytes the step added: 0 for an instruction that made no layer
    comment: str = ""


@dataclass
class ImageDetails:
    """One image's inspect (its config) and history; None where that request failed (the error
    says why) or was not made."""

    config: Optional[ImageConfig] = None
    config_error: Optional[str] = None
    history: Optional[list[HistoryEntry]] = None
    history_error: Optional[str] = None


@dataclass
class ImagesFacts(Probe):
    items: list[dict[str, Any]] = field(default_factory=list)
    # Image id -> its config and history, for the images listed above and the audited containers'
    # images. None: not collected (no selected check needed them, or recorded by an earlier release).
    details: Optional[dict[str, ImageDetails]] = None
    notes: list[str] = field(default_factory=list)


@dataclass
class MountEntry:
    source: str
    target: str
    fstype: str
    options: str = ""
    propagation: str = ""
    root: str = "/"           # the directory of the filesystem mounted here ("/" unless a bind mount)
    device: str = ""          # major:minor


@dataclass
class FstabEntry:
    RETIRED_FIELDS: ClassVar[frozenset[str]] = frozenset({"vfstype", "options"})

    spec: str
    file: str


@dataclass
class MountsFacts(Probe):
    source: str = ""          # whose mount namespace: "/proc/<dockerd pid>/mountinfo", ...
    mounts: list[MountEntry] = field(default_factory=list)
    fstab: list[FstabEntry] = field(default_factory=list)
    fstab_error: Optional[str] = None


@dataclass
class AuditFacts(Probe):
    source: str = ""                      # "auditctl -l" or the rule files read
    rules: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Rules read from files: "FILE:LINE" of each, parallel to rules (empty for auditctl -l).
    origins: list[str] = field(default_factory=list)
    # `auditctl -s` as key -> value ("enabled": "1", "pid": "812", ...); empty where not asked.
    status: dict[str, str] = field(default_factory=dict)


@dataclass
class GroupFacts(Probe):
    name: str = "docker"
    exists: bool = False
    gid: Optional[int] = None
    members: list[str] = field(default_factory=list)
    primary_members: list[str] = field(default_factory=list)


@dataclass
class ContainerProcess:
    pid: int
    comm: str
    container_id: str


@dataclass
class ProcessesFacts(Probe):
    """Processes that run inside containers, found through the host's /proc."""

    items: list[ContainerProcess] = field(default_factory=list)
    # container id -> fields of its main process's /proc/<pid>/status that the kernel enforces:
    # NoNewPrivs, Seccomp, Uid, CapEff.
    init_status: dict[str, dict[str, str]] = field(default_factory=dict)
    # container id -> the text of its main process's /proc/<pid>/uid_map, read from the host: with
    # the Uid line above it gives the uid inside the container (userns-remap, rootless).
    uid_maps: dict[str, str] = field(default_factory=dict)
    # container id -> the mounts its main process sees under the destinations of its binds, from
    # /proc/<pid>/mountinfo: what the kernel mounted read-only, not what was asked for. None: not
    # recorded.
    mounts: Optional[dict[str, list[MountEntry]]] = None


@dataclass
class ExecRecord:
    """One `docker exec`: only the container and the flags the benchmark asks about, never the command."""

    container: str
    privileged: bool = False
    user: str = ""
    origin: str = ""          # "audit log <path>" or "exec session <id> (still tracked by the daemon)"
    time: str = ""


@dataclass
class ExecsFacts(Probe):
    """`docker exec` history: the audit log, and exec sessions the daemon still tracks."""

    audit_log: Optional[str] = None       # path searched; None when there is none to search
    audit_log_note: str = ""
    records: list[ExecRecord] = field(default_factory=list)


@dataclass
class SwarmFacts(Probe):
    """The swarm this node is in, beyond what `docker info` Swarm says (the engine facts hold that:
    state, role, the cluster's spec and CA on a manager). Read-only: never the unlock key, a join
    token or a secret's data. Each list is None when it was not collected (on a worker only managers
    can list them: `manager_only` says why), with its own error when the API refused."""

    manager_only: Optional[str] = None    # why the manager-only lists were not asked for
    # Nodes: ID, Hostname, Role, Availability, State, Addr, and ManagerStatus (Leader, Reachability, Addr).
    nodes: Optional[list[dict[str, Any]]] = None
    nodes_error: Optional[str] = None
    # Overlay networks as GET /networks lists them: Id, Name, Scope, Ingress, Internal, Options.
    networks: Optional[list[dict[str, Any]]] = None
    networks_error: Optional[str] = None
    # Secrets: ID, Name, CreatedAt, UpdatedAt, Driver, the names of their labels (values are left).
    secrets: Optional[list[dict[str, Any]]] = None
    secrets_error: Optional[str] = None
    # Services: Name, the names of the secrets they use, the names of their environment variables.
    services: Optional[list[dict[str, Any]]] = None
    services_error: Optional[str] = None
    # <data-root>/swarm/docker-state.json, which dockerd keeps and the API does not show: ListenAddr,
    # AdvertiseAddr, DataPathAddr, DataPathPort ... (no keys or tokens are in it).
    state: Optional[dict[str, Any]] = None
    state_path: str = ""
    state_error: Optional[str] = None
    # The swarm's addresses (listen, advertise, data path) -> the interface that holds each, in the
    # daemon's network namespace; None when not looked at.
    interfaces: Optional[dict[str, str]] = None
    interfaces_error: Optional[str] = None
    # The validity of the certificate this node uses (<data-root>/swarm/certificates/swarm-node.crt):
    # {"subject", "not_before", "not_after"} in ISO 8601. The cluster's expiry applies only from the
    # next renewal, at 50-80 % of the current certificate's life.
    node_certificate: Optional[dict[str, str]] = None
    node_certificate_error: Optional[str] = None


@dataclass
class Facts:
    schema_version: int = SCHEMA_VERSION
    tool_version: str = ""
    collected_at: str = ""
    host: HostFacts = field(default_factory=HostFacts)
    daemon: DaemonFacts = field(default_factory=DaemonFacts)
    engine: EngineFacts = field(default_factory=EngineFacts)
    files: FilesFacts = field(default_factory=FilesFacts)
    containers: ContainersFacts = field(default_factory=ContainersFacts)
    images: ImagesFacts = field(default_factory=ImagesFacts)
    mounts: MountsFacts = field(default_factory=MountsFacts)
    audit: AuditFacts = field(default_factory=AuditFacts)
    docker_group: GroupFacts = field(default_factory=GroupFacts)
    processes: ProcessesFacts = field(default_factory=ProcessesFacts)
    execs: ExecsFacts = field(default_factory=ExecsFacts)
    swarm: SwarmFacts = field(default_factory=SwarmFacts)

    def __post_init__(self) -> None:
        # Views derived from the raw facts (the effective daemon configuration, ...), computed once.
        self.derived: dict[str, Any] = {}

    def group(self, name: str) -> Probe:
        value = getattr(self, FACETS.get(name, name), None)
        if not isinstance(value, Probe):
            raise KeyError(f"no fact group named {name!r}")
        return value


# The fact groups are Facts' fields that hold a Probe, in collection order: named once, above.
FACT_TYPES: dict[str, type] = {f.name: f.default_factory for f in fields(Facts)  # type: ignore[misc]
                               if f.default_factory is not MISSING}
FACT_GROUPS = tuple(FACT_TYPES)
# Needs that name part of a group, collected only when a selected check asks for it: an image's
# config and history cost two API calls per image, which the image inventory does not need.
FACETS = {"image_details": "images"}
ALL_NEEDS = FACT_GROUPS + tuple(FACETS)
