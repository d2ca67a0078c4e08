"""Swarm settings read the way swarmkit and dockerd read them (moby v20.10.24, Debian's docker.io
here, and moby master of 2026-08, with the swarmkit and libnetwork they vendor).

* The swarm's management port is the port of --listen-addr (default 0.0.0.0:2377); the gossip port
  of libnetwork's networkdb is memberlist's 7946 on the same host address (agent.go agentInit binds
  networkdb to the listen address; no option changes the port).
* An overlay network is encrypted when its options hold the key "encrypted", whatever its value:
  the overlay driver only asks whether the key is there (drivers/overlay ov_network.go).
* Durations in a cluster spec are nanoseconds (Go's time.Duration).

Pure functions over plain values: no I/O. Checks import what they need from bench.check.
"""
from __future__ import annotations

import base64
import datetime
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Optional

DEFAULT_LISTEN_PORT = 2377
GOSSIP_PORT = 7946
# swarmkit ca.DefaultNodeCertExpiration: what an unset NodeCertExpiry means.
DEFAULT_NODE_CERT_EXPIRY = 90 * 24 * 3600 * 10**9
ENCRYPTED_OPTION = "encrypted"


# -- addresses ------------------------------------------------------------------------------------

def host_part(address: Any) -> str:
    """The host of "1.2.3.4:2377", "[::1]:2377", "1.2.3.4" or "::1"."""
    text = str(address or "").strip()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def port_of(address: Any) -> Optional[int]:
    text = str(address or "").strip()
    if text.startswith("[") and "]:" in text:
        tail = text.rsplit("]:", 1)[1]
    elif text.count(":") == 1:
        tail = text.rsplit(":", 1)[1]
    else:
        return None
    return int(tail) if tail.isdigit() else None


def is_wildcard(host: str) -> bool:
    """An address that binds every interface: empty, 0.0.0.0, :: (and ::ffff:0.0.0.0)."""
    if not host:
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_unspecified


def canonical_ip(text: str) -> Optional[str]:
    try:
        return str(ipaddress.ip_address(str(text).split("%", 1)[0]))
    except ValueError:
        return None


def swarm_addresses(info: dict[str, Any], state: Optional[dict[str, Any]]) -> list[str]:
    """The addresses the swarm uses on this node: advertised (docker info NodeAddr), and those
    dockerd keeps in docker-state.json (listen, advertise, data path)."""
    found = [host_part(info.get("NodeAddr"))]
    found += [host_part((state or {}).get(key)) for key in ("ListenAddr", "AdvertiseAddr", "DataPathAddr")]
    return sorted({a for a in found if a})


def listen_port(info: dict[str, Any], state: Optional[dict[str, Any]]) -> tuple[int, str]:
    """The management port and how it is known: docker-state.json's ListenAddr, else this
    manager's own entry among RemoteManagers (its advertised port, which is the listen port unless
    --advertise-addr named another), else swarmkit's default."""
    port = port_of((state or {}).get("ListenAddr"))
    if port:
        return port, "docker-state.json ListenAddr"
    own = str(info.get("NodeID") or "")
    for peer in info.get("RemoteManagers") or []:
        if isinstance(peer, dict) and own and peer.get("NodeID") == own and port_of(peer.get("Addr")):
            return int(port_of(peer.get("Addr")) or 0), "this manager's address among RemoteManagers"
    return DEFAULT_LISTEN_PORT, "swarmkit's default"


# -- networks -------------------------------------------------------------------------------------

def is_encrypted(network: dict[str, Any]) -> bool:
    """As the overlay driver reads it: the option key is there, whatever its value ("false" too)."""
    return ENCRYPTED_OPTION in (network.get("Options") or {})


# -- durations --------------------------------------------------------------------------------------

_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
          "d": 24 * 3600 * 10**9}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")


def parse_duration(text: str) -> int:
    """Nanoseconds of a duration as `docker swarm update --cert-expiry` takes it (Go's
    time.ParseDuration: "48h", "1h30m"), with "d" for days too ("90d"). ValueError otherwise."""
    text = str(text).strip()
    if text.isdigit():
        raise ValueError(f"duration {text!r} needs a unit (h, m, s or d), such as 2160h or 90d")
    position, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not text or position != len(text) or total <= 0:
        raise ValueError(f"{text!r} is not a duration such as 2160h, 48h or 90d")
    return int(total)


def show_duration(nanoseconds: int) -> str:
    hours = nanoseconds / (3600 * 10**9)
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day{'s' if days != 1 else ''} ({int(hours)}h)"
    return f"{hours:g}h"


# -- certificates: the swarm's root CA as `docker info` hands it over (PEM) ----------------------------

@dataclass(frozen=True)
class Certificate:
    subject: str                  # "CN=swarm-ca"
    not_before: datetime.datetime
    not_after: datetime.datetime


_NAMES = {b"\x55\x04\x03": "CN", b"\x55\x04\x0a": "O", b"\x55\x04\x0b": "OU", b"\x55\x04\x06": "C"}


def _tlv(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, content, offset after it) of the DER element at `offset`."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[offset], data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or offset + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[offset:offset + count], "big")
        offset += count
    if offset + length > len(data):
        raise ValueError("truncated DER")
    return tag, data[offset:offset + length], offset + length


def _children(content: bytes) -> list[tuple[int, bytes]]:
    found, offset = [], 0
    while offset < len(content):
        tag, value, offset = _tlv(content, offset)
        found.append((tag, value))
    return found


def _time(tag: int, value: bytes) -> datetime.datetime:
    text = value.decode("ascii")
    if tag == 0x17:      # UTCTime: YYMMDDHHMMSSZ, 50..99 being the 1900s (RFC 5280)
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != 0x18:    # GeneralizedTime: YYYYMMDDHHMMSSZ
        raise ValueError("not a time")
    return datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.timezone.utc)


def _name(content: bytes) -> str:
    parts = []
    for _, rdn in _children(content):
        for _, pair in _children(rdn):
            fields = _children(pair)
            if len(fields) == 2 and fields[0][0] == 0x06:
                label = _NAMES.get(fields[0][1], "OID")
                parts.append(f"{label}={fields[1][1].decode('utf-8', 'replace')}")
    return ",".join(parts)


def read_certificate(pem: str) -> Certificate:
    """The subject and validity of the first certificate of a PEM text; ValueError when there is none."""
    match = re.search(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", str(pem), re.S)
    if not match:
        raise ValueError("no PEM certificate")
    try:
        der = base64.b64decode("".join(match.group(1).split()), validate=True)
        _, certificate, _ = _tlv(der, 0)
        _, tbs = _children(certificate)[0]
        fields = _children(tbs)
        if fields and fields[0][0] == 0xA0:          # [0] version
            fields = fields[1:]
        # serialNumber, signature, issuer, validity, subject
        validity, subject = _children(fields[3][1]), fields[4][1]
        return Certificate(_name(subject), _time(*validity[0]), _time(*validity[1]))
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the certificate: {exc}") from None
