"""The daemon most live fault tests audit, one for the whole package (it is started once).

Its directory is 0711 so that the API socket's own mode (0660 root:docker) decides who may connect,
and its daemon.json lives in a 0700 directory so that a user other than root can neither read nor
stat it. Two containers run on it: plain, and one that carries secrets (environment, labels, log
options, healthcheck, command, and an exec session). Tests that change it (daemon.json rewritten,
replaced by a symlink, a FIFO or a loop; the daemon stopped with SIGSTOP; containers added) put it
back.
"""
from __future__ import annotations

import contextlib
import grp
import os
import secrets
from typing import Iterator

import pytest

# The shared assertions live in a helper module: let pytest explain their failures too.
pytest.register_assert_rewrite("faults.common")

from dockerd import Dockerd  # noqa: E402
from faults.common import Live, start_with_busybox  # noqa: E402
from integration_env import IMAGE  # noqa: E402


@pytest.fixture(scope="package")
def live(integration_host: None) -> Iterator[Live]:
    with contextlib.ExitStack() as stack:
        daemon = Dockerd(name="f")
        os.chmod(daemon.dir, 0o711)
        private = daemon.dir / "private"
        private.mkdir(mode=0o700)
        daemon.config_file = private / "daemon.json"
        daemon.daemon_json = {"icc": False, "log-level": "info"}
        start_with_busybox(stack, daemon)
        try:
            gid = grp.getgrnam("docker").gr_gid
        except KeyError:
            gid = 0   # no docker group here: root:root 0660 keeps others out just the same
        os.chown(daemon.socket, 0, gid)
        os.chmod(daemon.socket, 0o660)

        live = Live(daemon)
        live.secrets = {name: f"s3cr3t-{name}-{secrets.token_hex(8)}" for name in
                        ("env", "env2", "cmd", "label", "logopt", "health", "exec")}
        live.names = ["DB_PASSWORD", "API_TOKEN", "com.example.api-token", "tag"]
        s = live.secrets
        daemon.docker("run", "-d", "--name", "plain", IMAGE, "sleep", "100000")
        daemon.docker("run", "-d", "--name", "secret", "-e", f"DB_PASSWORD={s['env']}", "-e", f"API_TOKEN={s['env2']}",
                      "--label", f"com.example.api-token={s['label']}", "--log-opt", f"tag={s['logopt']}",
                      "--health-cmd", f"echo {s['health']}", "--health-interval", "3600s",
                      "--entrypoint", "sh", IMAGE, "-c", f"sleep 100000 # --password={s['cmd']}")
        # An exec session the daemon tracks (its ExecIDs are inspected), started with a secret.
        daemon.docker("exec", "-d", "-e", f"EXEC_TOKEN={s['exec']}", "secret", "sleep", "100000")
        yield live
