"""Daemon checks that need logic beyond one comparison. Each asks the daemon view: the running
daemon's value where the Engine API reports it, else the flags merged with daemon.json, each with
where it came from; a file that disagrees with the running daemon never makes a PASS."""
from __future__ import annotations

import posixpath

from bench.check import (check, daemon_view, errored, failed, passed, skipped,
                         version_at_least, warned)

# Checks of the daemon's settings: the Engine API answers most, the daemon's flags and files the rest.
SETTINGS = ("engine", "daemon")


@check("daemon-log-level-info", title="The daemon logs at level info", wants=SETTINGS,
       rationale=("At info the daemon records the events an investigation needs; a lower level "
                  "drops them, while debug floods the log and can write sensitive request details "
                  "to it."),
       references=("https://docs.docker.com/engine/daemon/logs/",
                   "https://docs.docker.com/reference/cli/dockerd/"))
def log_level_info(facts):
    """Whether the running daemon debugs comes from `docker info` (Debug); the level it logs at
    otherwise from `log-level` in its flags merged with daemon.json, read as dockerd reads it
    (case-insensitive, `warning` is warn). Debug on FAILs whatever log-level says (dockerd switches
    to debug after applying it); an unset log-level (default info) or `info` PASSes, any other
    level FAILs. A daemon.json changed since the daemon started turns a PASS into WARN; a
    configuration that cannot be read is ERROR; a remote engine SKIPs unless the API shows debug."""
    view = daemon_view(facts)
    debug = view.value("debug")
    if debug.value is True and not debug.error:
        return failed(f"{debug.describe()} switches logging to debug, whatever log-level says")
    level = view.value("log-level")
    if level.error:
        return level.verdict(False, "")
    shown = level.describe() if level.is_set else "log-level=info (not set; default)"
    holds = str(level.value or "info") == "info"
    outcome = level.verdict(holds, shown if holds else f"{shown}, expected info")
    if debug.conflict and outcome.status.value == "PASS":
        return warned(f"{shown}; but {debug.conflict}")
    return outcome


@check("daemon-tls-verify", title="A daemon listening on TCP verifies clients with TLS", wants=SETTINGS,
       rationale=("The API grants root on the host; on a network socket it must authenticate each "
                  "client by a certificate signed by a CA the operator controls, or anyone who "
                  "can reach the port can take over the machine."),
       references=("https://docs.docker.com/engine/security/protect-access/",
                   "https://docs.docker.com/reference/cli/dockerd/#daemon-socket-option"))
def tls_verify(facts):
    """Judges every TCP socket the daemon serves its API on: those its process holds open, read
    from the host's /proc (socket activation included: the inherited sockets are its own), or,
    where the process could not be looked at, the addresses its configuration declares (-H and
    `hosts`, dockerd's tcp://localhost:2376 when TLS is on and no host is given, a socket unit's
    ListenStream for fd://). No TCP socket PASSes. On a TCP socket, TLS with client verification,
    as dockerd resolves `tls`, `tlsverify` and the certificate files (DOCKER_CERT_PATH, the
    daemon user's ~/.docker), PASSes, but WARNs when the CA is the system's public bundle (any
    publicly issued certificate then verifies); TLS without verification or no TLS FAILs. An audit that
    itself reached the engine over plain TCP FAILs: it has seen the API served without TLS.
    A remote engine reached otherwise SKIPs."""
    engine, view = facts.engine, daemon_view(facts)
    if not engine.unavailable() and engine.transport == "tcp":
        return failed(f"this audit reached the Engine API at {engine.endpoint} over plain TCP: "
                      "any client on the network can do the same")
    if view.error:
        return skipped(view.error) if facts.daemon.skipped else errored(f"the daemon was not examined: {view.error}")
    listeners = view.listeners()
    if listeners.unknown:
        return errored(f"where the daemon listens is unknown: {listeners.unknown}")
    notes = "".join(f"; {n}" for n in listeners.notes)
    if not listeners.tcp:
        shown = ", ".join(listener.address for listener in listeners.api) or "nothing"
        how = "listens" if listeners.observed else "declares"
        return passed(f"the daemon {how} on no TCP socket (API: {shown}){notes}")
    if view.config.error:
        return errored(f"it listens on {_shown(listeners.tcp)} and its TLS settings cannot be read: {view.config.error}")
    tls = view.tls()
    where = _shown(listeners.tcp)
    extra = "".join(f"; {n}" for n in tls.notes) + notes
    if tls.mode == "none":
        return failed(f"listens on {where} without TLS: any client may connect{extra}")
    if tls.cert is None or tls.key is None or (tls.verifies and tls.ca is None):
        return errored(f"listens on {where}, and its TLS settings name no {'CA, ' if tls.verifies else ''}certificate "
                       f"and key, which dockerd would refuse: its configuration changed since it started, and whether "
                       f"the running daemon verifies clients cannot be told{extra}")
    settings = ", ".join(view.config.get(k).describe() for k in ("tls", "tlsverify") if view.config.get(k))
    settings = f" ({settings})" if settings else ""
    if tls.mode == "tls":
        return failed(f"listens on {where} with TLS but no client verification{settings}: any client may "
                      f"connect{extra}")
    files = ", ".join(f"{name} {getattr(tls, name)} ({tls.sources.get(name, '?')})" for name in ("ca", "cert", "key"))
    if posixpath.normpath(str(tls.ca)) in PUBLIC_CA_BUNDLES:
        return warned(f"listens on {where} with TLS and client verification{settings}, but against the system's "
                      f"public CA bundle: any client with a certificate from a public CA is let in; {files}{extra}")
    return passed(f"listens on {where} with TLS and client verification{settings}; {files}{extra}")


# Where distributions keep the public CAs every TLS client trusts: as --tlscacert, any certificate a
# public CA issued (to anyone, for any name) verifies as a client.
PUBLIC_CA_BUNDLES = frozenset({"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                               "/etc/ssl/cert.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                               "/etc/ssl/ca-bundle.pem", "/etc/ssl/certs/ca-bundle.crt"})


def _shown(listeners) -> str:
    return ", ".join(f"{listener.address}" + ("" if listener.how == "observed" else " (declared)") for listener in listeners)


@check("daemon-userns-remap", title="Containers run in a remapped user namespace", wants=SETTINGS,
       rationale=("Without remapping, uid 0 in a container is uid 0 on the host, so any escape "
                  "from the container lands as root; remapping makes it an unprivileged host uid."),
       references=("https://docs.docker.com/engine/security/userns-remap/",
                   "https://docs.docker.com/engine/security/rootless/",
                   "https://man7.org/linux/man-pages/man7/user_namespaces.7.html"))
def userns_remap(facts):
    """A rootless daemon PASSes (container root is already an unprivileged host user). Otherwise the
    running daemon says whether it remaps user namespaces (`docker info` SecurityOptions lists
    userns), and the flags and daemon.json say with which `userns-remap`: remapping PASSes, none
    FAILs. A daemon.json that disagrees with the running daemon, or changed since it started,
    turns a PASS into WARN; unknown is ERROR; a remote engine SKIPs unless the API answers."""
    view = daemon_view(facts)
    if not view.error and view.rootless:
        return passed("rootless daemon: container root maps to an unprivileged host user")
    value = view.value("userns-remap")
    if value.error:
        return value.verdict(False, "")
    if value.value:
        return value.verdict(True, value.describe())
    return value.verdict(False, f"{value.describe()}: root in a container is root on the host")


# Log drivers that ship logs off the host; syslog counts when it is given a remote address.
REMOTE_DRIVERS = {"gelf", "fluentd", "awslogs", "splunk", "gcplogs", "logentries", "etwlogs"}
LOCAL_FORWARDABLE = {"syslog", "journald"}
# The log-opt naming where a driver sends, and where it sends without one (fluentd's default is
# localhost:24224; gelf requires an address).
ADDRESS_OPTIONS = {"syslog": ("syslog-address", ""), "gelf": ("gelf-address", ""),
                   "fluentd": ("fluentd-address", "localhost:24224")}


@check("daemon-remote-logging", title="Container logs go to a central, remote log service", wants=SETTINGS,
       rationale=("Logs kept only on the host are lost with it and can be erased by an intruder "
                  "who gains root there; shipping them to a central service keeps the evidence "
                  "out of the attacker's reach."),
       references=("https://docs.docker.com/engine/logging/configure/",
                   "https://docs.docker.com/engine/logging/drivers/syslog/"))
def remote_logging(facts):
    """The driver is the running daemon's (`docker info` LoggingDriver), the flags and daemon.json
    saying where it came from; its `log-opts` come from them. gelf, fluentd, awslogs, splunk,
    gcplogs, logentries and etwlogs PASS, but gelf and fluentd sending to this host (loopback, a
    unix socket; fluentd's default localhost:24224) WARN, a local agent; syslog PASSes when its
    `syslog-address` names a host other than this one; syslog otherwise and journald WARN (confirm they forward), a plugin
    driver (name with / or :) WARNs, any other driver (json-file, local, none) FAILs. A
    daemon.json that disagrees with the running daemon, or changed since it started, turns a PASS
    into WARN; a remote engine is judged from the API, its log-opts unknown."""
    view = daemon_view(facts)
    value = view.value("log-driver")
    if value.error:
        return value.verdict(False, "")
    driver = str(value.value or "json-file")
    shown = f"log-driver={driver} ({value.source})"
    options = view.config.value("log-opts", {}) or {} if not view.config.error else {}
    option, default = ADDRESS_OPTIONS.get(driver, ("", ""))
    address = str(options.get(option, default)) if option else ""
    if driver in REMOTE_DRIVERS and not (address and _local_address(address)):
        return value.verdict(True, shown + (f" to {address}" if address else ""))
    if driver in ("gelf", "fluentd"):
        return value.verdict(False, f"{shown} sends to {address}, an agent on this host: confirm it forwards to a "
                                    "central log server", on_fail=warned)
    if driver == "syslog":
        if address and not _local_address(address):
            return value.verdict(True, f"log-driver=syslog to {address} ({value.source})")
    if driver in LOCAL_FORWARDABLE:
        return value.verdict(False, f"{shown} writes to the local {driver}: confirm it forwards to a central "
                                    "log server", on_fail=warned)
    if "/" in driver or ":" in driver:
        return value.verdict(False, f"{shown} is a plugin: confirm it ships logs off the host", on_fail=warned)
    return value.verdict(False, f"{shown} keeps logs on this host only")


def _local_address(address: str) -> bool:
    """unix sockets and loopback addresses are this host's own (syslog, a gelf or fluentd agent);
    an address may come with a scheme (udp://h:p) or without (fluentd's h:p)."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "", address
    if scheme.startswith("unix"):
        return True
    host = rest.split("/", 1)[0]
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.lower() in ("localhost", "::1", "") or host.startswith("127.")


# Engine 17.06 turned v1 registry support off by default, and 17.12 removed it along with
# --disable-legacy-registry (docs: deprecated features, "Interacting with V1 registries").
LEGACY_REGISTRY_OFF_BY_DEFAULT = (17, 6)
LEGACY_REGISTRY_REMOVED = (17, 12)


@check("daemon-disable-legacy-registry", title="Operations on v1 (legacy) registries are disabled",
       needs=("engine",), wants=("daemon",),
       rationale=("The v1 registry protocol lacks the content-addressed, verifiable image "
                  "handling of v2; talking to v1 registries exposes the host to weaker integrity "
                  "guarantees on pulled images."),
       references=("https://docs.docker.com/engine/deprecated/#interacting-with-v1-registries",
                   "https://docs.docker.com/reference/cli/dockerd/"))
def legacy_registry(facts):
    """Reads the engine version from `docker version`: 17.12 or later PASSes (v1 support was
    removed). Before that it reads `disable-legacy-registry` from the flags merged with
    daemon.json: true PASSes, false FAILs; unset PASSes from 17.06 (v1 off by default) and FAILs
    before. A configuration that cannot be read is ERROR."""
    version = str(facts.engine.version.get("Version") or "")
    if version_at_least(version, LEGACY_REGISTRY_REMOVED):
        return passed(f"engine {version} has no v1 registry support (removed in 17.12): the option is moot")
    value = daemon_view(facts).value("disable-legacy-registry")
    if value.error:
        return value.verdict(False, "")
    if value.is_set:
        return value.verdict(value.value is True, value.describe() if value.value is True else
                             f"{value.describe()}; engine {version or '(version unknown)'} still talks to v1 registries")
    if version_at_least(version, LEGACY_REGISTRY_OFF_BY_DEFAULT):
        return value.verdict(True, f"disable-legacy-registry is not set; engine {version} leaves v1 registries "
                                   "off by default (17.06 and later)")
    return failed(f"disable-legacy-registry is not set; engine {version or '(version unknown)'} still talks to "
                  "v1 registries")


# -- CIS v1.6.0 and later -------------------------------------------------------------------------

@check("daemon-rootless", title="The daemon runs as a non-root user (rootless mode), if possible", wants=SETTINGS,
       rationale=("A daemon running as root turns any escape from a container, or any abuse of the API, "
                  "into root on the host; in rootless mode the daemon and its containers run as an "
                  "unprivileged user, so a breakout lands as that user."),
       references=("https://docs.docker.com/engine/security/rootless/",
                   "https://man7.org/linux/man-pages/man7/user_namespaces.7.html"))
def rootless(facts):
    """Whether the daemon runs as a non-root user: the uid of its process, as this host's kernel
    shows it (a rootless dockerd under RootlessKit is root only inside its user namespace), which
    decides; where the process cannot be seen (a remote engine), the running daemon's own word
    (`docker info` SecurityOptions lists rootless, Engine 19.03 and later). Rootless PASSes. A
    daemon running as root WARNs, also when it claims rootless mode (--rootless without
    RootlessKit): the recommendation holds "if possible", and whether rootless mode fits the host
    (no AppArmor, SELinux or userns-remap; limits on ports, networking and cgroups) is the
    operator's call. Neither known is ERROR (SKIP for a remote engine that does not say)."""
    daemon, view = facts.daemon, daemon_view(facts)
    reported = view.value("rootless") if not facts.engine.unavailable() else None
    said = reported.value is True if reported is not None and reported.observed else None
    uid = daemon.uid if not daemon.unavailable() else None
    api = f"docker info SecurityOptions {'lists' if said else 'does not list'} rootless" if said is not None else ""
    if uid is None:
        if said is None:
            if daemon.skipped:
                return skipped(f"{daemon.skipped}; the Engine API does not say whether it runs rootless")
            return errored(f"who the daemon runs as is unknown: its process was not examined "
                           f"({daemon.unavailable() or 'no uid recorded'}) and the Engine API does not say")
        if said:
            return passed(f"rootless: {api} (its process cannot be seen from here)")
        return warned(f"the daemon runs as root: {api} (its process cannot be seen from here); run it rootless "
                      "if the host's workloads allow it")
    process = f"dockerd (pid {daemon.pid}) runs as uid {uid}"
    if uid != 0:
        return passed(f"rootless: {process}" + (f"; {api}" if api else ""))
    claim = f", although {api}: the rootless setting without RootlessKit leaves the process root" if said else \
        (f"; {api}" if api else "")
    return warned(f"the daemon runs as root ({process}{claim}): run it rootless if the host's workloads allow it")


# Swarm refuses live-restore (daemon/config IsSwarmCompatible: "--live-restore daemon configuration
# is incompatible with swarm mode"), so a node in a swarm cannot follow the recommendation.
SWARM_STATES = ("active", "locked")


@check("daemon-live-restore", title="Live restore is enabled", wants=SETTINGS,
       rationale=("With live restore, containers keep running while the daemon is stopped, upgraded "
                  "or crashes, so patching the daemon does not mean downtime, and security updates "
                  "are not put off for fear of it."),
       references=("https://docs.docker.com/engine/daemon/live-restore/",
                   "https://docs.docker.com/reference/cli/dockerd/"))
def live_restore(facts):
    """Whether the running daemon keeps containers alive across its own restarts (`docker info`
    LiveRestoreEnabled), else `live-restore` from the flags merged with daemon.json. true PASSes;
    false, or unset (the default), FAILs. A node in swarm mode (Swarm.LocalNodeState active or
    locked) SKIPs: dockerd refuses live-restore there, so the recommendation does not apply. A
    daemon.json that disagrees with the running daemon, or changed since it started, turns a PASS
    into WARN; a configuration that cannot be read is ERROR; a remote engine SKIPs unless the API
    answers."""
    view = daemon_view(facts)
    state = str((view.info.get("Swarm") or {}).get("LocalNodeState") or "")
    if state in SWARM_STATES:
        return skipped(f"the node is in swarm mode (Swarm.LocalNodeState {state}), which refuses live-restore")
    value = view.value("live-restore")
    if value.error:
        return value.verdict(False, "")
    shown = value.describe() if value.is_set else "live-restore=false (not set; default)"
    if value.value is True:
        return value.verdict(True, shown)
    return value.verdict(False, f"{shown}: every container stops when the daemon stops or restarts")


# What `docker info` reports for Docker's own profile: "default" before Engine 23.0, "builtin" since.
DEFAULT_SECCOMP = ("", "default", "builtin")
# The --seccomp-profile value dockerd itself takes as its own profile (daemon/config
# SeccompProfileDefault); before, and for any other value, "default" included, it reads a file.
BUILTIN_SECCOMP_SINCE = (23, 0)


@check("daemon-seccomp-profile", title="Containers get a seccomp profile by default (Docker's, or a custom "
                                       "one where appropriate)", wants=SETTINGS,
       rationale=("Seccomp limits the system calls a container may make; Docker's default profile "
                  "blocks dozens that let a process escape or attack the kernel. A daemon-wide profile "
                  "that is 'unconfined', or a kernel without seccomp, leaves every container without "
                  "that filter."),
       references=("https://docs.docker.com/engine/security/seccomp/",
                   "https://docs.docker.com/reference/cli/dockerd/"))
def seccomp_profile(facts):
    """The profile the running daemon applies to containers that ask for none: the seccomp entry of
    `docker info` SecurityOptions (profile=default before Engine 23.0, builtin since, or the custom
    profile's path, or unconfined), else `seccomp-profile` from the flags merged with daemon.json.
    Docker's default profile PASSes (unset, or `builtin` from Engine 23.0: dockerd reads any other
    configured value, `default` included, as a file, which docker info then names). "unconfined" FAILs, and so does a running daemon that lists no
    seccomp at all (a kernel or build without it: containers run unfiltered). A custom profile
    WARNs: applying one is what the recommendation asks "if appropriate", and whether it is at
    least as strict as Docker's default is for a person to judge. A daemon.json that disagrees with
    the running daemon, or changed since it started, turns a PASS into WARN; a configuration that
    cannot be read is ERROR; a remote engine SKIPs unless the API answers."""
    view = daemon_view(facts)
    if "SecurityOptions" in view.info and "seccomp" not in view.security_options:
        listed = ", ".join(view.security_options) or "nothing"
        return failed(f"the running daemon applies no seccomp profile: docker info SecurityOptions lists {listed} "
                      "(a kernel or a dockerd without seccomp): containers run without a system call filter")
    value = view.value("seccomp-profile")
    if value.error:
        return value.verdict(False, "")
    profile = str(value.value or "")
    shown = value.describe() if value.is_set else "seccomp-profile not set (dockerd's built-in profile)"
    declared = str(value.declared.value or "") if value.declared is not None else ""
    if declared and declared != "unconfined" and not (
            declared == "builtin" and version_at_least(view.engine_version, BUILTIN_SECCOMP_SINCE)):
        # docker info shows the configured text: a file named `default` reads as Docker's profile there.
        return value.verdict(False, f"{shown}: dockerd reads {declared!r} as a profile file, a custom profile "
                                    "for every container; confirm it is appropriate and at least as strict as "
                                    "Docker's default", on_fail=warned)
    if profile in DEFAULT_SECCOMP:
        return value.verdict(True, f"{shown}: Docker's default seccomp profile")
    if profile == "unconfined":
        return value.verdict(False, f"{shown}: containers that ask for no profile run without seccomp")
    return value.verdict(False, f"{shown}: a custom profile applies to every container; confirm it is appropriate "
                                "and at least as strict as Docker's default", on_fail=warned)
