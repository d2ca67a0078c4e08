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


@check("daemon-log-level-info", title="The daemon logs at level info", needs=("daemon",))
def log_level_info(facts):
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


@check("daemon-tls-verify", title="A daemon listening on TCP verifies clients with TLS", needs=("daemon",))
def tls_verify(facts):
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


@check("daemon-userns-remap", title="Containers run in a remapped user namespace", needs=("daemon",))
def userns_remap(facts):
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


@check("daemon-remote-logging", title="Container logs go to a central, remote log service", needs=("daemon",))
def remote_logging(facts):
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
       needs=("daemon", "engine"))
def legacy_registry(facts):
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
