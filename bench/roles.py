"""File roles: the names check authors give Docker's files ("docker.service", "tls-key"), so that a
check need not know where a distribution or a daemon's configuration keeps them. The collector
(bench/collect/files.py) finds each role's paths on the host; `docker-cis-bench list --files` shows
this vocabulary."""
from __future__ import annotations

ROLES = {
    "docker.service": "the systemd unit that starts dockerd",
    "docker.service.d": "drop-in files that amend docker.service",
    "docker.socket": "the systemd socket unit of the API",
    "etc-docker": "the Docker configuration directory",
    "daemon.json": "the daemon configuration file dockerd reads",
    "default-docker": "/etc/default/docker (Debian-style daemon options)",
    "sysconfig-docker": "/etc/sysconfig/docker (Red Hat-style daemon options)",
    "registry-certs": "files in /etc/docker/certs.d/<registry>/",
    "tls-ca": "the CA certificate the daemon trusts (--tlscacert)",
    "tls-cert": "the daemon's server certificate (--tlscert)",
    "tls-key": "the daemon's server key (--tlskey)",
    "api-socket": "the unix socket(s) the API listens on",
    "docker-binary": "the docker binary of CIS 1.11 (/usr/bin/docker)",
    "daemon-binary": "the executable of the running daemon",
    "docker-containerd": "/usr/bin/docker-containerd (Engine <= 17.x)",
    "docker-runc": "/usr/bin/docker-runc (Engine <= 17.x)",
    "containerd-binary": "containerd, which later engines use instead of docker-containerd",
    "runc-binary": "runc, which later engines use instead of docker-runc",
    "data-root": "the daemon's data directory (/var/lib/docker by default)",
    "run-containerd": "/run/containerd, the system containerd's state directory",
    "containerd-socket": "the containerd socket the daemon uses (the API's Containerd.Address, the containerd "
                         "it started, --containerd, else /run/containerd/containerd.sock)",
    "containerd-config": "/etc/containerd/config.toml, the system containerd's configuration",
    "containerd-shim": "containerd-shim, the legacy (v1) shim, where containerd finds it",
    "containerd-shim-runc-v1": "containerd-shim-runc-v1, where containerd finds it",
    "containerd-shim-runc-v2": "containerd-shim-runc-v2, where containerd finds it",
}
