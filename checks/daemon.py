"""Daemon checks that need logic beyond one comparison. Each asks the daemon view: the running
daemon's value where the Engine API reports it, else the flags merged with daemon.json, each with
where it came from; a file that disagrees with the running daemon never makes a PASS."""
from __future__ import annotations

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
    daemon user's ~/.docker), PASSes; TLS without verification or no TLS FAILs. An audit that
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
    return passed(f"listens on {where} with TLS and client verification{settings}; {files}{extra}")


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


@check("daemon-remote-logging", title="Container logs go to a central, remote log service", wants=SETTINGS,
       rationale=("Logs kept only on the host are lost with it and can be erased by an intruder "
                  "who gains root there; shipping them to a central service keeps the evidence "
                  "out of the attacker's reach."),
       references=("https://docs.docker.com/engine/logging/configure/",
                   "https://docs.docker.com/engine/logging/drivers/syslog/"))
def remote_logging(facts):
    """The driver is the running daemon's (`docker info` LoggingDriver), the flags and daemon.json
    saying where it came from; its `log-opts` come from them. gelf, fluentd, awslogs, splunk,
    gcplogs, logentries and etwlogs PASS; syslog PASSes when its `syslog-address` names a host
    other than this one; syslog otherwise and journald WARN (confirm they forward), a plugin
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
    if driver in REMOTE_DRIVERS:
        return value.verdict(True, shown)
    if driver == "syslog":
        address = str(options.get("syslog-address", ""))
        if address and not _local_address(address):
            return value.verdict(True, f"log-driver=syslog to {address} ({value.source})")
    if driver in LOCAL_FORWARDABLE:
        return value.verdict(False, f"{shown} writes to the local {driver}: confirm it forwards to a central "
                                    "log server", on_fail=warned)
    if "/" in driver or ":" in driver:
        return value.verdict(False, f"{shown} is a plugin: confirm it ships logs off the host", on_fail=warned)
    return value.verdict(False, f"{shown} keeps logs on this host only")


def _local_address(address: str) -> bool:
    """unix sockets and loopback addresses are this host's own syslog."""
    scheme, _, rest = address.partition("://")
    if scheme.startswith("unix"):
        return True
    host = rest.rsplit(":", 1)[0].strip("[]") if rest.count(":") else rest
    return host in ("localhost", "::1", "") or host.startswith("127.")


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
