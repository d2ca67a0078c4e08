"""Swarm mode (CIS v1.6.0 and later: 5.1, and section 7). A node's swarm state, role and, on a
manager, the cluster's spec and root CA are in `docker info`; what only a manager lists (nodes,
overlay networks, secrets, services), where the node listens and which interfaces carry its
addresses come from the swarm facts (bench/collect/swarm.py). The audit reads; it never changes the
swarm, never reads the unlock key and never asks for the join tokens.

Every section 7 check is SKIP when swarm mode is not active on this node. What only a manager knows
is SKIP on a worker, saying so: audit a manager for it."""
from __future__ import annotations

import datetime
import re
from typing import Any, Optional

from bench.check import (DEFAULT_NODE_CERT_EXPIRY, GOSSIP_PORT, Item, Outcome, Status, check, errored, failed,
                         canonical_ip, host_part, info, is_encrypted, is_wildcard, listen_port, parse_duration, passed, port_of,
                         read_certificate, show_duration, skipped, version_at_least, warned)

SWARM_DOCS = "https://docs.docker.com/engine/swarm/"
# Docker's administration guide: more than seven managers slow the raft consensus down.
MOST_MANAGERS = 7
# Environment variable names that usually carry a credential (a *_FILE variable names a file instead).
CREDENTIAL_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.I)
SHOWN = 20   # names listed in a detail before "and N more"


# -- the node's swarm state ----------------------------------------------------------------------------

def _swarm(facts) -> dict[str, Any]:
    value = facts.engine.info.get("Swarm") if facts.engine.info else None
    return value if isinstance(value, dict) else {}


def _no_swarm_section(facts) -> Outcome:
    version = (facts.engine.version or {}).get("Version")
    if version and not version_at_least(version, (1, 12)):
        return skipped(f"Engine {version} has no swarm mode (it came with Engine 1.12)")
    return errored("docker info reports no Swarm section")


def _inactive(facts) -> Optional[Outcome]:
    """SKIP (with the reason) when swarm mode is not active on this node; None when it is."""
    swarm = _swarm(facts)
    if not swarm:
        return _no_swarm_section(facts)
    state = str(swarm.get("LocalNodeState") or "")
    if state == "active":
        return None
    reasons = {
        "inactive": "swarm mode is inactive on this node: not applicable",
        "locked": "this node's swarm is locked (autolock): it takes part in no swarm until it is unlocked",
        "pending": "this node is joining a swarm (pending): nothing to judge yet",
        "error": f"this node's swarm is in error ({swarm.get('Error') or 'no message'})",
    }
    return skipped(reasons.get(state, f"swarm state {state or 'not reported'}: not applicable"))


def _manager(facts) -> bool:
    return _swarm(facts).get("ControlAvailable") is True


def _worker_skip(what: str) -> Outcome:
    return skipped(f"this node is a worker: only a manager reports {what}; audit a manager")


def _cluster(facts) -> Optional[dict[str, Any]]:
    cluster = _swarm(facts).get("Cluster")
    return cluster if isinstance(cluster, dict) else None


def _applies_to_managers(facts, what: str) -> tuple[Optional[dict[str, Any]], Optional[Outcome]]:
    """The cluster as a manager reports it, or the verdict when there is none to judge."""
    not_active = _inactive(facts)
    if not_active is not None:
        return None, not_active
    if not _manager(facts):
        return None, _worker_skip(what)
    cluster = _cluster(facts)
    if cluster is None:
        return None, errored("docker info reports no Cluster for this manager")
    return cluster, None


def _swarm_facts(facts) -> Optional[Outcome]:
    if facts.swarm.unavailable():
        return errored(f"swarm facts not collected: {facts.swarm.unavailable()}")
    return None


def _names(values: list[str]) -> str:
    shown = ", ".join(values[:SHOWN])
    return shown + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")


# -- 5.1 --------------------------------------------------------------------------------------------

@check("swarm-mode-off", title="Swarm mode is off, unless this host needs it", needs=("engine",),
       rationale=("Swarm mode opens management and gossip ports and runs a certificate authority and a "
                  "raft store on the host; when the host does not take part in a swarm that is attack "
                  "surface for nothing."),
       references=(SWARM_DOCS, "https://docs.docker.com/reference/cli/docker/swarm/leave/"))
def swarm_mode_off(facts):
    """Reads docker info Swarm.LocalNodeState: inactive PASSes; active WARNs (the recommendation
    holds "if not needed": a person confirms the host needs it), naming the node's role and the
    swarm's size; pending, locked and error mean swarm mode is on too and WARN. An engine older
    than 1.12 has no swarm mode and PASSes; a newer one that reports no Swarm section is ERROR."""
    swarm = _swarm(facts)
    if not swarm:
        outcome = _no_swarm_section(facts)
        return passed(outcome.detail) if outcome.status == Status.SKIP else outcome
    state = str(swarm.get("LocalNodeState") or "")
    if state == "inactive":
        return passed("swarm mode is inactive")
    if state == "active":
        if _manager(facts):
            role = (f"a manager of a swarm of {swarm.get('Nodes', '?')} node(s), "
                    f"{swarm.get('Managers', '?')} of them managers")
        else:
            role = f"a worker ({len(swarm.get('RemoteManagers') or [])} manager(s) known)"
        return warned(f"swarm mode is active: this node is {role}; confirm this host needs it, "
                      "else `docker swarm leave`")
    return warned(f"swarm mode is on (state {state or 'not reported'}"
                  + (f": {swarm.get('Error')}" if swarm.get("Error") else "")
                  + "); confirm this host needs it, else `docker swarm leave`")


# -- 7.1 --------------------------------------------------------------------------------------------

def _manager_count(name: str, value: Any) -> Any:
    text = str(value).strip()
    if text == "":
        return ""
    if not text.isdigit() or int(text) < 1:
        raise ValueError("managers takes the number of managers the swarm should have, such as 1, 3 or 5")
    return int(text)


@check("swarm-manager-count", title="The swarm has no more managers than it needs", needs=("engine",),
       wants=("swarm",), params={"managers": ""}, prepare=_manager_count,
       rationale=("Every manager holds the raft store, the cluster's secrets and its CA keys, and can "
                  "change the whole swarm; managers beyond the fault tolerance the swarm needs are "
                  "more hosts to defend, and an even number adds no fault tolerance at all."),
       references=("https://docs.docker.com/engine/swarm/admin_guide/",
                   "https://docs.docker.com/engine/swarm/raft/",
                   "https://docs.docker.com/reference/cli/docker/node/demote/"))
def swarm_manager_count(facts, params):
    """On a manager, counts the swarm's managers (the nodes GET /nodes lists with role manager, else
    docker info Swarm.Managers) and names the unreachable ones. With --param
    swarm-manager-count.managers=N the count must be N: equal PASSes, other FAILs. Without it: one
    manager PASSes (the minimum); an even count WARNs (raft needs a majority, so it tolerates no
    more failures than one manager fewer); more than seven WARNs (Docker advises against it); three,
    five or seven is INFO, saying how many failures it tolerates, for a person to confirm that
    tolerance is needed. SKIP when swarm mode is not active or on a worker."""
    not_active = _inactive(facts)
    if not_active is not None:
        return not_active
    swarm = _swarm(facts)
    if not _manager(facts):
        known = len(swarm.get("RemoteManagers") or [])
        return _worker_skip(f"how many managers the swarm has (this worker knows {known} manager address(es))")
    nodes = None if facts.swarm.unavailable() else facts.swarm.nodes
    unreachable: list[str] = []
    if nodes is not None:
        managers = [n for n in nodes if n.get("Role") == "manager"]
        count, how = len(managers), "nodes listed with role manager"
        unreachable = sorted(str(n.get("Hostname") or n.get("ID")) for n in managers
                             if (n.get("ManagerStatus") or {}).get("Reachability") not in (None, "reachable"))
    elif isinstance(swarm.get("Managers"), int):
        count, how = int(swarm["Managers"]), "docker info Swarm.Managers"
    else:
        return errored("the number of managers is unknown: "
                       + (facts.swarm.nodes_error or facts.swarm.unavailable() or "docker info reports none"))
    shown = f"{count} manager(s) ({how})" + (f"; unreachable: {', '.join(unreachable)}" if unreachable else "")
    wanted = params.get("managers")
    if wanted not in (None, ""):
        wanted = _manager_count("managers", wanted)
        if count == wanted:
            return passed(f"{shown}, as required")
        return failed(f"{shown}; {wanted} required")
    if count <= 1:
        return passed(f"{shown}: the minimum")
    if count % 2 == 0:
        return warned(f"{shown}: an even number tolerates no more manager failures than {count - 1} "
                      f"(raft needs a majority); demote one")
    if count > MOST_MANAGERS:
        return warned(f"{shown}: more than {MOST_MANAGERS}, which Docker advises against")
    return info(f"{shown}: tolerates {(count - 1) // 2} manager failure(s); confirm that is needed "
                "(--param swarm-manager-count.managers=N decides)")


# -- 7.2 --------------------------------------------------------------------------------------------

@check("swarm-listen-address", title="The swarm's ports are bound to a specific interface", needs=("engine",),
       wants=("swarm", "daemon"),
       rationale=("Bound to every interface, the swarm's management and gossip ports are reachable from "
                  "every network the host is on, including ones the swarm was never meant to use."),
       references=("https://docs.docker.com/reference/cli/docker/swarm/init/#listen-addr",
                   "https://docs.docker.com/engine/swarm/swarm-tutorial/#open-protocols-and-ports-between-the-hosts"))
def swarm_listen_address(facts):
    """Judges where the node listens for the swarm: the management port (the port of --listen-addr,
    from dockerd's docker-state.json, else this manager's own address among RemoteManagers, else
    2377) and the gossip port 7946, which networkdb binds on the listen address's host. The TCP
    sockets dockerd's process holds on those ports (read from the host's /proc) decide: one bound
    to every interface (0.0.0.0, ::) FAILs, specific addresses PASS. Where the process's sockets were
    not seen, docker-state.json's ListenAddr is judged instead, saying so; with neither it is ERROR
    (SKIP for an engine on another host). SKIP when swarm mode is not active."""
    not_active = _inactive(facts)
    if not_active is not None:
        return not_active
    swarm = _swarm(facts)
    state = None if facts.swarm.unavailable() else facts.swarm.state
    port, how = listen_port(swarm, state)
    declared = str((state or {}).get("ListenAddr") or "")
    daemon = facts.daemon
    seen_why = (daemon.unavailable() or daemon.listeners_error
                or ("not in this recording" if daemon.listeners is None else ""))
    if not seen_why:
        sockets = sorted({listener.address for listener in daemon.listeners or []
                          if listener.kind == "tcp" and port_of(listener.address) in (port, GOSSIP_PORT)})
        if sockets:
            wide = [s for s in sockets if is_wildcard(host_part(s))]
            shown = f"dockerd listens on {', '.join(sockets)} (management port {port}: {how}; gossip {GOSSIP_PORT})"
            return failed(f"{shown}: bound to every interface: {', '.join(wide)}") if wide else passed(shown)
        seen_why = f"dockerd holds no TCP socket on port {port} or {GOSSIP_PORT}"
    if declared:
        source = f"ListenAddr {declared} in {facts.swarm.state_path or 'docker-state.json'} ({seen_why})"
        if is_wildcard(host_part(declared)):
            return failed(f"{source}: every interface")
        return passed(source)
    why_state = facts.swarm.unavailable() or facts.swarm.state_error or "docker-state.json has no ListenAddr"
    unknown = (f"where the swarm listens is unknown: its sockets were not seen ({seen_why}) "
               f"and its listen address was not read ({why_state})")
    return skipped(unknown) if daemon.skipped else errored(unknown)


# -- 7.3 --------------------------------------------------------------------------------------------

@check("swarm-overlay-encrypted", title="Every overlay network is encrypted", needs=("engine",), wants=("swarm",),
       rationale=("Unencrypted overlay traffic crosses the network between hosts in clear VXLAN "
                  "packets, readable and forgeable by anyone on the path; encrypted overlays use IPsec "
                  "between the nodes."),
       references=("https://docs.docker.com/engine/network/drivers/overlay/#encrypt-traffic-on-an-overlay-network",
                   "https://docs.docker.com/engine/swarm/networking/#customize-the-ingress-network"))
def swarm_overlay_encrypted(facts):
    """Lists the overlay networks (GET /networks, driver overlay) and reads each one's Options as the
    overlay driver does: the key `encrypted` present, whatever its value, encrypts; without it the
    network FAILs, the ingress network (the routing mesh's, unencrypted unless recreated with --opt
    encrypted) included. No overlay network PASSes. A worker lists only the overlay networks its
    tasks use: an unencrypted one FAILs, otherwise SKIP (audit a manager). SKIP when swarm mode is
    not active; ERROR when the networks could not be listed."""
    not_judged = _inactive(facts) or _swarm_facts(facts)
    if not_judged is not None:
        return not_judged
    networks = facts.swarm.networks
    if networks is None:
        return errored(f"the overlay networks could not be listed: {facts.swarm.networks_error or 'not collected'}")
    items = []
    for network in sorted(networks, key=lambda n: str(n.get("Name") or n.get("Id"))):
        name = str(network.get("Name") or network.get("Id") or "?")
        if is_encrypted(network):
            value = str((network.get("Options") or {}).get("encrypted") or "")
            note = f" (encrypted={value}: the key alone encrypts)" if value not in ("", "true") else ""
            items.append(Item(name, Status.PASS, "encrypted" + note))
        elif network.get("Ingress"):
            items.append(Item(name, Status.FAIL, "the ingress network (routing mesh) is not encrypted: recreate it "
                                                 "with --opt encrypted, or remove it if no service publishes "
                                                 "ports through it"))
        else:
            items.append(Item(name, Status.FAIL, "not encrypted (no `encrypted` option)"))
    if not _manager(facts) and not any(i.status == Status.FAIL for i in items):
        seen = f"the {len(items)} this worker sees are encrypted" if items else "this worker sees none"
        return _worker_skip(f"every overlay network ({seen})")
    if not items:
        return passed("no overlay networks")
    return items


# -- 7.4 --------------------------------------------------------------------------------------------

@check("swarm-secrets-used", title="Secrets are managed with docker secret (evidence)", needs=("engine",),
       wants=("swarm",),
       rationale=("Swarm secrets are encrypted in the raft store and in transit and are given only to the "
                  "services that need them, as files; credentials in images, environment variables or "
                  "configs are readable by anyone who can inspect them."),
       references=("https://docs.docker.com/engine/swarm/secrets/",
                   "https://docs.docker.com/reference/cli/docker/secret/"))
def swarm_secrets_used(facts):
    """Always INFO on a manager, for a person to judge: the swarm's secrets (names and count; never
    their data, which the API does not return), which services use them, and the services whose
    environment has variables named like credentials (PASSWORD, TOKEN, ...; *_FILE ones name a
    file and do not count; values are never read). SKIP when swarm mode is not active or on a
    worker; ERROR when the secrets could not be listed."""
    not_active = _inactive(facts)
    if not_active is not None:
        return not_active
    if not _manager(facts):
        return _worker_skip("the swarm's secrets")
    missing = _swarm_facts(facts)
    if missing is not None:
        return missing
    secrets = facts.swarm.secrets
    if secrets is None:
        return errored(f"the secrets could not be listed: {facts.swarm.secrets_error or 'not collected'}")
    names = sorted(str(s.get("Name") or s.get("ID")) for s in secrets)
    parts = [f"{len(names)} secret(s)" + (f": {_names(names)}" if names else "")]
    services = facts.swarm.services
    if services is None:
        parts.append(f"services not listed ({facts.swarm.services_error or 'not collected'})")
    elif services:
        using = [str(s.get("Name")) for s in services if s.get("Secrets")]
        parts.append(f"{len(using)} of {len(services)} service(s) use secrets"
                     + (f" ({_names(sorted(using))})" if using else ""))
        suspects = []
        for service in sorted(services, key=lambda s: str(s.get("Name"))):
            found = [n for n in service.get("Env") or [] if CREDENTIAL_NAME.search(n) and not n.upper().endswith("_FILE")]
            if found:
                suspects.append(f"{service.get('Name')} ({', '.join(found)})")
        if suspects:
            parts.append("credential-like variables in service environments: " + _names(suspects))
    else:
        parts.append("no services")
    return info("; ".join(parts) + ". Confirm credentials reach services as secrets.")


# -- 7.5 --------------------------------------------------------------------------------------------

@check("swarm-autolock", title="Swarm managers run in autolock mode", needs=("engine",),
       rationale=("Without autolock the keys that encrypt the raft store and the managers' TLS keys lie "
                  "on each manager's disk, so whoever copies a manager's data root has the cluster's "
                  "secrets; with it a restarted manager waits for the unlock key."),
       references=("https://docs.docker.com/engine/swarm/swarm_manager_locking/",
                   "https://docs.docker.com/reference/cli/docker/swarm/update/"))
def swarm_autolock(facts):
    """On a manager, reads docker info Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers: true
    PASSes, false or absent FAILs. A node whose swarm is locked PASSes (only autolock locks it).
    SKIP when swarm mode is not active or on a worker (autolock protects managers' keys)."""
    if str(_swarm(facts).get("LocalNodeState") or "") == "locked":
        return passed("this node is locked: its swarm keys are encrypted with the unlock key (autolock)")
    cluster, outcome = _applies_to_managers(facts, "the autolock setting")
    if outcome is not None:
        return outcome
    enabled = ((cluster.get("Spec") or {}).get("EncryptionConfig") or {}).get("AutoLockManagers")
    if enabled is True:
        return passed("AutoLockManagers=true")
    return failed(f"AutoLockManagers={'false' if enabled is False else 'not set (off)'}")


# -- 7.6 --------------------------------------------------------------------------------------------

@check("swarm-unlock-key-rotation", title="The swarm unlock key is rotated periodically (evidence)",
       needs=("engine",),
       rationale=("An unlock key that never changes stays valid for every copy of a manager's data made "
                  "since the swarm was locked, and for everyone who ever held it."),
       references=("https://docs.docker.com/engine/swarm/swarm_manager_locking/#rotate-the-unlock-key",
                   "https://docs.docker.com/reference/cli/docker/swarm/unlock-key/"))
def swarm_unlock_key_rotation(facts):
    """INFO on a manager with autolock on: the engine records no date of the unlock key's last
    rotation, so a person confirms a rotation schedule; the detail gives when the cluster object was
    last updated (a rotation updates it, as does any `docker swarm update`). The audit neither reads
    nor rotates the key. SKIP when swarm mode is not active, on a worker, or when autolock is off
    (there is no unlock key; see swarm-autolock)."""
    cluster, outcome = _applies_to_managers(facts, "the autolock setting")
    if outcome is not None:
        return outcome
    if ((cluster.get("Spec") or {}).get("EncryptionConfig") or {}).get("AutoLockManagers") is not True:
        return skipped("autolock is off: there is no unlock key to rotate (swarm-autolock)")
    updated = cluster.get("UpdatedAt") or "an unknown time"
    return info(f"autolock is on; the engine records no rotation date for the unlock key (the cluster was last "
                f"updated at {updated}); confirm it is rotated on a schedule with `docker swarm unlock-key "
                "--rotate` (this audit neither reads nor rotates it)")


# -- 7.7 --------------------------------------------------------------------------------------------

def _maximum(name: str, value: Any) -> Any:
    text = str(value).strip()
    return "" if text == "" else parse_duration(text)


@check("swarm-node-cert-expiry", title="Node certificates expire, and so are renewed, as often as policy asks",
       needs=("engine",), params={"maximum": ""}, prepare=_maximum,
       rationale=("Swarm nodes renew their TLS certificates before they expire; a long validity leaves a "
                  "stolen node certificate usable for longer."),
       references=("https://docs.docker.com/engine/swarm/how-swarm-mode-works/pki/#rotating-the-ca-certificate",
                   "https://docs.docker.com/reference/cli/docker/swarm/update/"))
def swarm_node_cert_expiry(facts, params):
    """On a manager, reads docker info Swarm.Cluster.Spec.CAConfig.NodeCertExpiry (nanoseconds; unset
    is swarmkit's 90 days), and the validity of this node's certificate in use
    (<data-root>/swarm/certificates/swarm-node.crt) when longer: a lowered expiry applies only from
    its next renewal, at 50-80 % of its life. With --param swarm-node-cert-expiry.maximum=DURATION (2160h, 48h, 90d:
    the site's policy) a longer validity FAILs. Without it, the recommendation says "as
    appropriate": a validity longer than Docker's default of 90 days WARNs, 90 days or less PASSes.
    SKIP when swarm mode is not active or on a worker."""
    cluster, outcome = _applies_to_managers(facts, "the swarm's certificate settings")
    if outcome is not None:
        return outcome
    raw = ((cluster.get("Spec") or {}).get("CAConfig") or {}).get("NodeCertExpiry")
    if raw in (None, 0):
        expiry, shown = DEFAULT_NODE_CERT_EXPIRY, f"{show_duration(DEFAULT_NODE_CERT_EXPIRY)} (not set: swarmkit's default)"
    elif isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        expiry, shown = raw, show_duration(raw)
    else:
        return errored(f"NodeCertExpiry {raw!r} is not a duration")
    in_use, note = _node_certificate_validity(facts), ""
    if in_use is not None and in_use > expiry:
        # Renewal happens at 50-80 % of the current certificate's life: until then, this one counts.
        note = (f" (set to {shown}, but this node's certificate in use, swarm-node.crt, was issued under an "
                f"earlier setting and stays until it is renewed)")
        expiry, shown = in_use, show_duration(in_use)
    maximum = params.get("maximum")
    if isinstance(maximum, str) and maximum.strip():
        maximum = parse_duration(maximum)
    if maximum not in (None, ""):
        if expiry <= maximum:
            return passed(f"node certificates are valid for {shown}{note}, within {show_duration(maximum)}")
        return failed(f"node certificates are valid for {shown}{note}, longer than {show_duration(maximum)}")
    if expiry <= DEFAULT_NODE_CERT_EXPIRY:
        return passed(f"node certificates are valid for {shown}{note} and renewed before they expire")
    return warned(f"node certificates are valid for {shown}{note}, longer than Docker's default of "
                  f"{show_duration(DEFAULT_NODE_CERT_EXPIRY)} (--param swarm-node-cert-expiry.maximum sets the policy)")


CERT_BACKDATE_SECONDS = 3600


def _node_certificate_validity(facts) -> Optional[int]:
    """How long this node's certificate in use is valid for, in nanoseconds; None when not read."""
    cert = facts.swarm.node_certificate
    if not cert:
        return None
    try:
        start = datetime.datetime.fromisoformat(cert["not_before"])
        end = datetime.datetime.fromisoformat(cert["not_after"])
    except (KeyError, TypeError, ValueError):
        return None
    # swarmkit backdates each certificate by an hour (ca.CertBackdate) and adds it to its expiry.
    return int((end - start).total_seconds() - CERT_BACKDATE_SECONDS) * 10**9


# -- 7.8 --------------------------------------------------------------------------------------------

@check("swarm-ca-rotation", title="The swarm's root CA is rotated as policy asks (evidence)", needs=("engine",),
       rationale=("Every node certificate chains to the swarm's root CA; a CA key that is never rotated "
                  "stays a single long-lived secret whose theft lets an attacker mint nodes."),
       references=("https://docs.docker.com/engine/swarm/how-swarm-mode-works/pki/#rotating-the-ca-certificate",
                   "https://docs.docker.com/reference/cli/docker/swarm/ca/"))
def swarm_ca_rotation(facts):
    """INFO on a manager, for a person to hold against the site's rotation policy: the root CA's
    subject and validity (read from docker info Swarm.Cluster.TLSInfo.TrustRoot) and its age,
    whether a root rotation is in progress, and whether the swarm signs with an external CA. SKIP
    when swarm mode is not active or on a worker; ERROR when no root CA is reported."""
    cluster, outcome = _applies_to_managers(facts, "the swarm's root CA")
    if outcome is not None:
        return outcome
    root = (cluster.get("TLSInfo") or {}).get("TrustRoot")
    if not root:
        return errored("docker info reports no TLSInfo.TrustRoot for the swarm")
    try:
        certificate = read_certificate(str(root))
    except ValueError as exc:
        return errored(f"the swarm's root CA: {exc}")
    days = (datetime.datetime.now(datetime.timezone.utc) - certificate.not_before).days
    age = f"{days} days old" if days >= 0 else "not valid yet by this host's clock"
    external = ((cluster.get("Spec") or {}).get("CAConfig") or {}).get("ExternalCAs") or []
    rotating = "in progress" if cluster.get("RootRotationInProgress") else "not in progress"
    return info(f"root CA {certificate.subject or '(no subject)'}, valid from {certificate.not_before:%Y-%m-%d} "
                f"to {certificate.not_after:%Y-%m-%d} ({age}); root rotation {rotating}; "
                + (f"{len(external)} external CA(s)" if external else "the swarm signs with its own CA")
                + ". Rotate with `docker swarm ca --rotate` as the site's policy asks.")


# -- 7.9 --------------------------------------------------------------------------------------------

@check("swarm-data-path-separated", title="Data traffic uses another interface than swarm management",
       needs=("engine",), wants=("swarm",),
       rationale=("With management and container traffic on one interface, a flood of data traffic can "
                  "starve the control plane, and the two cannot be filtered or monitored apart."),
       references=("https://docs.docker.com/engine/swarm/networking/#use-a-separate-interface-for-control-and-data-traffic",
                   "https://docs.docker.com/reference/cli/docker/swarm/init/#data-path-addr"))
def swarm_data_path_separated(facts):
    """Compares the data-path address (--data-path-addr, which the Engine API does not show: read
    from dockerd's docker-state.json) with the advertise address (docker info Swarm.NodeAddr). No
    data-path address (data traffic then takes the advertise address) or the same address FAILs;
    addresses on different interfaces (the interface holding each, in the daemon's network
    namespace) PASS, on the same interface FAIL; different addresses whose interfaces are unknown
    WARN. SKIP when swarm mode is not active; ERROR when docker-state.json could not be read (SKIP
    for an engine on another host, whose files cannot be read from here)."""
    not_judged = _inactive(facts) or _swarm_facts(facts)
    if not_judged is not None:
        return not_judged
    swarm, state = _swarm(facts), facts.swarm.state
    if state is None:
        unknown = ("the data-path address is kept only in dockerd's docker-state.json, which was not read: "
                   f"{facts.swarm.state_error or 'not collected'}")
        return skipped(unknown) if facts.daemon.skipped else errored(unknown)
    advertise = host_part(swarm.get("NodeAddr") or state.get("AdvertiseAddr"))
    data = host_part(state.get("DataPathAddr"))
    advertise, data = canonical_ip(advertise) or advertise, canonical_ip(data) or data
    if not data:
        return failed(f"no --data-path-addr: data traffic uses the advertise address {advertise or '?'}, "
                      "the management interface")
    if data == advertise:
        return failed(f"the data-path address is the advertise address {advertise}")
    interfaces = facts.swarm.interfaces
    shown = f"management {advertise}, data {data}"
    if interfaces is None or advertise not in interfaces or data not in interfaces:
        why = facts.swarm.interfaces_error or "an address is held by no interface of this host"
        return warned(f"{shown}: different addresses, but whether they are on different interfaces is "
                      f"unknown ({why})")
    if interfaces[advertise] == interfaces[data]:
        return failed(f"{shown}: both on interface {interfaces[data]}")
    return passed(f"management {advertise} on {interfaces[advertise]}, data {data} on {interfaces[data]}")
