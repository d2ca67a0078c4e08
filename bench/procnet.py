"""The kernel's socket tables (/proc/PID/net/tcp, tcp6, unix) read as text: which sockets listen,
and where. Read per process, so that a daemon in a network namespace of its own (a rootless one,
inside rootlesskit) is seen in its own namespace."""
from __future__ import annotations

import socket
import struct

TCP_LISTEN = "0A"
UNIX_ACCEPTING = 0x00010000   # __SO_ACCEPTCON: a unix socket that listen() was called on


def _ipv4(hex_address: str) -> str:
    return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(hex_address, 16)))


def _ipv6(hex_address: str) -> str:
    # Four 32-bit words, each in the host's (little-endian) byte order.
    words = [struct.pack("<I", int(hex_address[i:i + 8], 16)) for i in range(0, 32, 8)]
    return socket.inet_ntop(socket.AF_INET6, b"".join(words))


def tcp_listeners(text: str, ipv6: bool = False) -> dict[int, str]:
    """inode -> "address:port" of the listening sockets in a /proc/net/tcp or tcp6 table."""
    found = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != TCP_LISTEN:
            continue
        address, _, port = fields[1].partition(":")
        try:
            host = _ipv6(address) if ipv6 else _ipv4(address)
            found[int(fields[9])] = (f"[{host}]" if ipv6 else host) + f":{int(port, 16)}"
        except (ValueError, OSError, struct.error):
            continue
    return found


def unix_listeners(text: str) -> dict[int, str]:
    """inode -> path of the listening unix sockets in a /proc/net/unix table ("@name" for an
    abstract one; unnamed ones are left out: nobody can connect to them by name)."""
    found = {}
    for line in text.splitlines()[1:]:
        fields = line.split(None, 7)
        if len(fields) < 8:
            continue
        try:
            flags, inode = int(fields[3], 16), int(fields[6])
        except ValueError:
            continue
        if flags & UNIX_ACCEPTING:
            found[inode] = fields[7]
    return found


def socket_inode(link: str) -> int | None:
    """The inode of a /proc/PID/fd link that names a socket ("socket:[12345]")."""
    if link.startswith("socket:[") and link.endswith("]"):
        try:
            return int(link[8:-1])
        except ValueError:
            return None
    return None
