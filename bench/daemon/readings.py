"""What dockerd does with its configuration: the log level it runs at, where it listens, whether it
serves TLS and with which files, the storage options its driver gets, the socket's group.

Pure functions of an EffectiveConfig (and, where dockerd reads them, its environment and home).
Each says in a comment which dockerd code decides it.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Mapping, Optional

from bench.daemon.config import TLS_IMPLIES_VERIFY_SINCE, EffectiveConfig
from bench.daemon.hosts import DEFAULT_TLS_HOST, DEFAULT_UNIX_SOCKET, parse_daemon_host
from bench.daemon.options import PFLAG

DEFAULT_SOCKET = f"unix://{DEFAULT_UNIX_SOCKET}"
# Engine 29.2 drops empty -H values; before it each one meant the default address
# (moby 8afb45b "loadDaemonCliConfig: explicitly set default host"; verified on 20.10).
EMPTY_HOST_DROPPED_SINCE = (29, 2)


def log_level(config: EffectiveConfig) -> str:
    """The level dockerd logs at. debug=true wins over log-level: dockerd applies log-level, then
    debug.Enable() sets debug (daemon/command/daemon.go start; cmd/dockerd/daemon.go before 2025;
    v1.11.2 docker/daemon.go CmdDaemon). Unset means info."""
    if config.value("debug") is True:
        return "debug"
    return str(config.value("log-level") or "info")


def listen_addresses(config: EffectiveConfig, rootless_uid: Optional[int] = None, *,
                     environ: Optional[Mapping[str, str]] = None, default_socket: Optional[str] = None) -> list[str]:
    """The addresses dockerd listens on, normalised (tcp://localhost:2375 for `:2375`). With no
    hosts it listens on tcp://localhost:2376 alone when TLS is on (loadDaemonCliConfig /
    opts.ParseHost: DefaultTLSHost; verified on 20.10: no unix socket then), else on the unix
    socket: /var/run/docker.sock, or $XDG_RUNTIME_DIR/docker.sock (/run/user/UID) for a rootless
    daemon. environ: the daemon's environment, where DOCKER_TLS_VERIFY turned TLS on before
    Engine 20.10 (see tls_mode). default_socket overrides the socket (a caller that knows it)."""
    tls_on = tls_mode(config, environ).mode != "none"
    if default_socket is None:
        default_socket = f"unix:///run/user/{rootless_uid}/docker.sock" if rootless_uid not in (None, 0) else DEFAULT_SOCKET
    default = DEFAULT_TLS_HOST if tls_on else default_socket
    hosts = [str(h) for h in (config.value("hosts") or [])]
    version = config.engine_version
    drops_empty = version is not None and version[:2] >= EMPTY_HOST_DROPPED_SINCE
    addresses: list[str] = []
    for host in hosts:
        if not host.strip():
            if drops_empty:
                continue
            address = default
        else:
            address = parse_daemon_host(host)
        if address not in addresses:
            addresses.append(address)
    return addresses or [default]


@dataclass
class TlsMode:
    """How dockerd's API listeners use TLS: "none", "tls" (encrypts, any client may connect) or
    "tlsverify" (clients need a certificate signed by the CA), with the files it loads."""
    mode: str
    ca: Optional[str] = None
    cert: Optional[str] = None
    key: Optional[str] = None
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def verifies(self) -> bool:
        return self.mode == "tlsverify"


_ORDER = ("none", "tls", "tlsverify")
_FILES = (("ca", "tlscacert", "ca.pem"), ("cert", "tlscert", "cert.pem"), ("key", "tlskey", "key.pem"))


def tls_mode(config: EffectiveConfig, environ: Optional[Mapping[str, str]] = None,
             home: Optional[str] = None) -> TlsMode:
    """TLS as dockerd sets it up. environ is the daemon's environment (None: unknown) and home its
    user's home directory, for the defaults of the certificate files.

    Engine 20.10 and later (cmd/dockerd/daemon.go loadDaemonCliConfig, newAPIServerTLSConfig):
    tls and tlsverify are tri-state; tlsverify given at all turns TLS on; unset tlsverify takes
    tls's value, so `tls` alone verifies clients; DOCKER_TLS_VERIFY in the environment changes
    nothing (verified on 20.10: plain HTTP). Before 20.10 and on Engine 1.12 and earlier
    (options.go SetDefaultOptions, v1.11.2 docker/common.go postParseCommon): plain bools; `tls`
    alone does not verify; DOCKER_TLS_VERIFY turns TLS and verification on unless a flag says
    otherwise. With the version unknown, the weaker of the two readings is reported."""
    result = TlsMode("none")
    explicit = {k: s for k, s in config.settings.items() if k not in config.derived}
    verify_named = "tlsverify" in config.flag_keys or "tlsverify" in config.file_keys
    env_verify = bool(environ.get("DOCKER_TLS_VERIFY")) if environ is not None else False
    tls = explicit.get("tls")
    verify = explicit.get("tlsverify")
    modern = _modern(config, tls, verify, verify_named)
    old = _old(tls, verify, verify_named, env_verify, "tlsverify" in config.flag_keys)
    version = config.engine_version
    if config.generation == PFLAG and version is not None and version[:2] >= TLS_IMPLIES_VERIFY_SINCE:
        result.mode = modern
    elif config.generation != PFLAG or version is not None:
        result.mode = old
        if environ is None and not verify_named and old != "tlsverify":
            result.notes.append("the daemon's environment is unknown: DOCKER_TLS_VERIFY there would turn "
                                "TLS and client verification on")
    else:
        result.mode = min(modern, old, key=_ORDER.index)
        if modern != old:
            result.notes.append(f"the engine version is unknown: dockerd 20.10 and later run {modern}, "
                                f"earlier releases {old}; the weaker is reported")
    if result.mode == "none":
        return result
    _cert_files(config, explicit, environ, home, result)
    return result


def _modern(config: EffectiveConfig, tls, verify, verify_named: bool) -> str:
    if not (verify_named or (tls is not None and tls.value is True)):
        return "none"
    return "tls" if verify is not None and verify.value is False else "tlsverify"


def _old(tls, verify, verify_named: bool, env_verify: bool, verify_flag: bool) -> str:
    tls_on = verify_named or env_verify or (tls is not None and tls.value is True)
    if not tls_on:
        return "none"
    if verify is not None and (verify_flag or verify.value is True):
        return "tlsverify" if verify.value else "tls"
    # The flag's default is DOCKER_TLS_VERIFY's presence; a false (or null) in daemon.json is a
    # zero value that the merge fills from it.
    return "tlsverify" if env_verify else "tls"


def _cert_files(config: EffectiveConfig, explicit: dict, environ: Optional[Mapping[str, str]],
                home: Optional[str], result: TlsMode) -> None:
    # The flags' defaults: $DOCKER_CERT_PATH, else $DOCKER_CONFIG, else ~/.docker of the daemon's
    # user ($HOME, else its passwd entry: pkg/homedir.Get) (daemon/command/options.go installFlags,
    # defaultCertPath; cmd/dockerd/options.go with cliconfig.Dir before; verified on 20.10 for all three).
    env = environ or {}
    directory, why = None, ""
    if env.get("DOCKER_CERT_PATH"):
        directory, why = env["DOCKER_CERT_PATH"], "DOCKER_CERT_PATH"
    elif env.get("DOCKER_CONFIG"):
        directory, why = env["DOCKER_CONFIG"], "DOCKER_CONFIG"
    elif env.get("HOME") or home:
        base = env.get("HOME") or home
        directory, why = posixpath.join(str(base), ".docker"), "~/.docker of the daemon's user"
    # When the command line does not turn TLS on (--tls, --tlsverify, or DOCKER_TLS_VERIFY in the
    # environment), dockerd drops the command line's TLS files and their defaults before reading
    # daemon.json (SetDefaultOptions: TLSOptions = nil; loadDaemonCliConfig): TLS turned on in
    # daemon.json then has only the files daemon.json names (verified on 20.10: "Could not load X509
    # key pair (cert: "", key: "")" when they are given as flags).
    flag_tls = (config.value("tls") is True and "tls" in config.flag_keys) or "tlsverify" in config.flag_keys
    env_verify = bool(env.get("DOCKER_TLS_VERIFY"))
    drops_flags = not flag_tls and environ is not None and not env_verify
    assumed, missing = [], []
    for attr, key, name in _FILES:
        setting = explicit.get(key)
        from_flag = setting is not None and setting.source.startswith("flag ")
        if setting is not None and setting.value and not (from_flag and drops_flags):
            setattr(result, attr, str(setting.value))
            result.sources[attr] = setting.source
        elif drops_flags:
            result.sources[attr] = ("dropped: TLS is turned on in daemon.json only" if from_flag
                                    else "not set in daemon.json")
            missing.append(key)
        elif directory is not None:
            setattr(result, attr, posixpath.join(directory, name))
            result.sources[attr] = f"default ({why})"
            assumed.append(key)
        else:
            result.sources[attr] = "not set, and the daemon's home directory is unknown"
    if assumed and environ is None:
        result.notes.append(f"{', '.join(assumed)} not set and the daemon's environment unknown: assumed in "
                            f"{directory}; DOCKER_CERT_PATH or DOCKER_CONFIG there would move them")
    if not flag_tls and environ is None:
        result.notes.append("TLS is turned on in daemon.json only: dockerd uses the command line's TLS files "
                            "then only with DOCKER_TLS_VERIFY in its environment, which is unknown")
    if drops_flags and ("tlscert" in missing or "tlskey" in missing):
        result.notes.append(f"TLS is turned on in daemon.json only, which does not name {', '.join(missing)}: "
                            "dockerd cannot load a certificate and would not start like this")
    if result.mode == "tls" and result.ca:
        result.notes.append("without client verification the CA file is not used")


def storage_opts(config: EffectiveConfig) -> dict[str, str]:
    """--storage-opt / "storage-opts" as the storage driver reads them: key and value trimmed, the
    key lowercased, a later option overriding an earlier one (parsers.ParseKeyValueOpt and
    strings.ToLower in every graph driver's parseOptions: devmapper, overlay2, btrfs, zfs, vfs).
    "DM.BaseSize = 20G" is dm.basesize=20G."""
    options: dict[str, str] = {}
    for option in config.value("storage-opts") or []:
        key, eq, value = str(option).partition("=")
        if eq:
            options[key.strip().lower()] = value.strip()
    return options


@dataclass(frozen=True)
class SocketGroup:
    """The group dockerd gives its unix sockets: `group` as written ("docker", a name or a numeric
    gid), or "" for the daemon's own group."""
    value: str
    source: str

    def gid(self, groups: Mapping[str, int], daemon_gid: int = 0) -> Optional[int]:
        """The gid dockerd chowns the socket to, given the host's groups by name (lookupGID in
        daemon/listeners/group_unix.go: the name first, then a number). None where dockerd would
        refuse to start (a named group that does not exist, other than the default "docker")."""
        if not self.value:
            return daemon_gid
        if self.value in groups:
            return groups[self.value]
        if self.value.isdigit():
            return int(self.value)
        # A missing "docker" group is only a warning: the socket keeps the daemon's group.
        return daemon_gid if self.value == "docker" else None


def docker_group(config: EffectiveConfig) -> SocketGroup:
    """-G/--group or "group": default "docker". An empty flag value means no group (the socket keeps
    the daemon's group, root; verified on 20.10), but "group": "" in daemon.json is a zero value the
    merge fills with the flag default, "docker" (verified on 20.10)."""
    setting = config.get("group")
    if setting is None:
        return SocketGroup("docker", "default")
    return SocketGroup(str(setting.value), setting.source)
