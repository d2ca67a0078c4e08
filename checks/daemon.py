"""Daemon checks that need logic beyond one comparison. Options come from the effective
configuration (flags merged with daemon.json), each with where it was set."""
from __future__ import annotations

from bench.check import VersionError, check, daemon_config, errored, failed, listen_addresses, parse_version, passed, warned


def _config(facts):
    config = daemon_config(facts)
    return config, (errored(config.error) if config.error else None)


def _source(config, key: str) -> str:
    setting = config.get(key)
    return f" ({setting.source})" if setting else " (not set)"


@check("daemon-log-level-info", title="The daemon logs at level info", needs=("daemon",),
       rationale=("At info the daemon records the events an investigation needs; a lower level "
                  "drops them, while debug floods the log and can write sensitive request details "
                  "to it."),
       references=("https://docs.docker.com/engine/daemon/logs/",
                   "https://docs.docker.com/reference/cli/dockerd/"))
def log_level_info(facts):
    """Reads `log-level` and `debug` from the daemon's flags merged with daemon.json. `debug` true
    FAILs whatever log-level says (dockerd switches to debug after applying it); otherwise an
    unset log-level (default info) or exactly `info` PASSes and any other level FAILs. An
    unreadable or malformed daemon.json is ERROR; a remote engine SKIPs."""
    config, problem = _config(facts)
    if problem:
        return problem
    level = config.get("log-level")
    shown = level.describe() if level else "log-level=info (not set; default)"
    debug = config.get("debug")
    if debug and debug.value is True:
        # dockerd enables debug logging after applying log-level: debug wins.
        return failed(f"{debug.describe()} switches logging to debug, whatever log-level says; {shown}")
    if level is None or level.value == "info":
        return passed(shown)
    return failed(f"{shown}, expected info")


@check("daemon-tls-verify", title="A daemon listening on TCP verifies clients with TLS", needs=("daemon",),
       rationale=("The API grants root on the host; on a network socket it must authenticate each "
                  "client by a certificate signed by a CA the operator controls, or anyone who "
                  "can reach the port can take over the machine."),
       references=("https://docs.docker.com/engine/security/protect-access/",
                   "https://docs.docker.com/reference/cli/dockerd/#daemon-socket-option"))
def tls_verify(facts):
    """Reads `hosts` (-H flags or daemon.json; by default the unix socket, the rootless one for a
    rootless daemon). With no address other than unix://, fd:// or npipe:// it PASSes; with a TCP
    address it FAILs unless `tlsverify` is set, and also FAILs when any of `tlscacert`,
    `tlscert`, `tlskey` is unset (dockerd would take them from ~/.docker of its user). An
    unreadable or malformed daemon.json is ERROR; a remote engine SKIPs."""
    config, problem = _config(facts)
    if problem:
        return problem
    default = f"unix:///run/user/{facts.daemon.uid}/docker.sock" if facts.daemon.rootless else "unix:///var/run/docker.sock"
    addresses = listen_addresses(config, default)
    network = [a for a in addresses if not a.startswith(("unix://", "fd://", "npipe://"))]
    if not network:
        return passed(f"the daemon listens on no TCP socket ({', '.join(addresses)})")
    missing = [k for k in ("tlscacert", "tlscert", "tlskey") if not config.value(k)]
    listening = ", ".join(network)
    if not config.value("tlsverify"):
        if config.value("tls"):
            return failed(f"listens on {listening} with TLS{_source(config, 'tls')} but no client verification "
                          "(tlsverify not set): any client may connect")
        return failed(f"listens on {listening} without TLS: any client may connect")
    if missing:
        return failed(f"listens on {listening} with tlsverify, but {', '.join(missing)} not set: "
                      "dockerd falls back to ~/.docker of its user")
    return passed(f"listens on {listening} with tlsverify{_source(config, 'tlsverify')}, "
                  f"CA {config.value('tlscacert')}, certificate {config.value('tlscert')}, key {config.value('tlskey')}")


@check("daemon-userns-remap", title="Containers run in a remapped user namespace", needs=("daemon",),
       rationale=("Without remapping, uid 0 in a container is uid 0 on the host, so any escape "
                  "from the container lands as root; remapping makes it an unprivileged host uid."),
       references=("https://docs.docker.com/engine/security/userns-remap/",
                   "https://docs.docker.com/engine/security/rootless/",
                   "https://man7.org/linux/man-pages/man7/user_namespaces.7.html"))
def userns_remap(facts):
    """A rootless daemon PASSes (container root is already an unprivileged host user). Otherwise
    reads `userns-remap` from the flags merged with daemon.json: a non-empty value PASSes, unset
    or empty FAILs. An unreadable or malformed daemon.json is ERROR; a remote engine SKIPs."""
    if facts.daemon.rootless:
        return passed("rootless daemon: container root maps to an unprivileged host user")
    config, problem = _config(facts)
    if problem:
        return problem
    setting = config.get("userns-remap")
    if setting and setting.value:
        return passed(setting.describe())
    return failed("userns-remap is not set: root in a container is root on the host")


# Log drivers that ship logs off the host; syslog counts when it is given a remote address.
REMOTE_DRIVERS = {"gelf", "fluentd", "awslogs", "splunk", "gcplogs", "logentries", "etwlogs"}
LOCAL_FORWARDABLE = {"syslog", "journald"}


@check("daemon-remote-logging", title="Container logs go to a central, remote log service", needs=("daemon",),
       rationale=("Logs kept only on the host are lost with it and can be erased by an intruder "
                  "who gains root there; shipping them to a central service keeps the evidence "
                  "out of the attacker's reach."),
       references=("https://docs.docker.com/engine/logging/configure/",
                   "https://docs.docker.com/engine/logging/drivers/syslog/"))
def remote_logging(facts):
    """Takes `log-driver` from the flags merged with daemon.json, else the LoggingDriver `docker
    info` reports, else json-file. gelf, fluentd, awslogs, splunk, gcplogs, logentries and
    etwlogs PASS; syslog PASSes when its `syslog-address` log-opt names a non-local host; syslog
    otherwise and journald WARN (confirm they forward), a plugin driver (name with / or :) WARNs,
    and any other driver (json-file, local, none) FAILs. A remote engine SKIPs."""
    config, problem = _config(facts)
    if problem:
        return problem
    setting = config.get("log-driver")
    driver = str(setting.value) if setting else (facts.engine.info.get("LoggingDriver") if facts.engine.info else None)
    source = setting.source if setting else "not configured; the engine reports it"
    if not driver:
        driver, source = "json-file", "default"
    options = config.value("log-opts", {}) or {}
    if driver in REMOTE_DRIVERS:
        return passed(f"log-driver={driver} ({source})")
    if driver == "syslog":
        address = str(options.get("syslog-address", ""))
        if address and not _local_address(address):
            return passed(f"log-driver=syslog to {address} ({source})")
    if driver in LOCAL_FORWARDABLE:
        return warned(f"log-driver={driver} ({source}) writes to the local {driver}: "
                      "confirm it forwards to a central log server")
    if "/" in driver or ":" in driver:
        return warned(f"log-driver={driver} ({source}) is a plugin: confirm it ships logs off the host")
    return failed(f"log-driver={driver} ({source}) keeps logs on this host only")


def _local_address(address: str) -> bool:
    """unix sockets and loopback addresses are this host's own syslog."""
    scheme, _, rest = address.partition("://")
    if scheme.startswith("unix"):
        return True
    host = rest.rsplit(":", 1)[0].strip("[]") if rest.count(":") else rest
    return host in ("localhost", "::1", "") or host.startswith("127.")


# Engine 17.12 removed the v1 registry client along with --disable-legacy-registry.
LEGACY_REGISTRY_REMOVED = (17, 12)


@check("daemon-disable-legacy-registry", title="Operations on v1 (legacy) registries are disabled",
       needs=("daemon", "engine"),
       rationale=("The v1 registry protocol lacks the content-addressed, verifiable image "
                  "handling of v2; talking to v1 registries exposes the host to weaker integrity "
                  "guarantees on pulled images."),
       references=("https://docs.docker.com/engine/deprecated/#interacting-with-v1-registries",
                   "https://docs.docker.com/reference/cli/dockerd/"))
def legacy_registry(facts):
    """Reads the engine version from `docker version`: 17.12 or later PASSes, since v1 registry
    support was removed. For an older or unknown version it reads `disable-legacy-registry` from
    the flags merged with daemon.json: true PASSes, unset or false FAILs. An unreadable or
    malformed daemon.json is ERROR; a remote engine SKIPs."""
    version = str(facts.engine.version.get("Version") or "")
    try:
        modern = parse_version(version)[:2] >= LEGACY_REGISTRY_REMOVED
    except VersionError:
        modern = False
    if modern:
        return passed(f"engine {version} has no v1 registry support (removed in 17.12): the option is moot")
    config, problem = _config(facts)
    if problem:
        return problem
    setting = config.get("disable-legacy-registry")
    if setting and setting.value is True:
        return passed(setting.describe())
    shown = setting.describe() if setting else "disable-legacy-registry is not set"
    return failed(f"{shown}; engine {version or '(version unknown)'} still talks to v1 registries")
