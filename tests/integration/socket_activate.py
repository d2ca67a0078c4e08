"""Start a program the way systemd starts a socket-activated service: listening sockets made here,
handed over as file descriptors 3, 4, ... with LISTEN_FDS and LISTEN_PID (this process's pid, which
exec keeps), then exec'd. dockerd -H fd:// serves its API on them (go-systemd's activation).

    python socket_activate.py --unix /path/d.sock --tcp 127.0.0.1:PORT -- dockerd -H fd:// ...
"""
from __future__ import annotations

import argparse
import os
import socket
import sys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--unix", action="append", default=[])
    parser.add_argument("--tcp", action="append", default=[])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    sockets = []
    for path in args.unix:
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind(path)
        unix.listen(128)
        sockets.append(unix)
    for address in args.tcp:
        host, _, port = address.rpartition(":")
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((host, int(port)))
        tcp.listen(128)
        sockets.append(tcp)
    # Move them to 3, 4, ... as sd_listen_fds(3) expects (above them first, so none is overwritten).
    high = [os.dup(s.fileno()) for s in sockets]
    for s in sockets:
        s.close()
    for index, fd in enumerate(high):
        os.dup2(fd, 3 + index, inheritable=True)
    for fd in high:
        if fd >= 3 + len(high):
            os.close(fd)
    os.environ["LISTEN_FDS"] = str(len(high))
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.execv(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
