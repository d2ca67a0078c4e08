"""Which Engine the audit talks to, read as the docker CLI reads it: --host, else DOCKER_HOST, else
the system socket (or a rootless user's own socket where there is no system socket); and for a tcp
endpoint the TLS settings of DOCKER_TLS_VERIFY / DOCKER_CERT_PATH."""
from __future__ import annotations

import os
import stat
from typing import Any, Optional

DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"


def resolve_endpoint(base_url: Optional[str], environ: Optional[dict[str, str]] = None
                     ) -> tuple[str, dict[str, Any]]:
    """The endpoint to use, and the SDK's keyword arguments for it (empty for a unix socket or
    ssh, which the SDK does not serve here)."""
    env = os.environ if environ is None else environ
    if base_url:
        # As with `docker -H`: DOCKER_TLS_VERIFY / DOCKER_CERT_PATH apply to an endpoint given on
        # the command line too (nothing is read, nor the SDK imported, for a unix socket).
        _, kwargs = _endpoint_from_env({**env, "DOCKER_HOST": base_url})
        endpoint = base_url
    else:
        endpoint, kwargs = _endpoint_from_env(env)
    if endpoint.startswith("/"):
        endpoint = "unix://" + endpoint
    if endpoint == "unix://":
        endpoint = DEFAULT_ENDPOINT
    return endpoint, kwargs


def _endpoint_from_env(environ: Optional[dict[str, str]]) -> tuple[str, dict[str, Any]]:
    """The endpoint DOCKER_HOST names (and the SDK's keyword arguments for it, TLS included, when
    it is not a local socket)."""
    env = os.environ if environ is None else environ
    host = (env.get("DOCKER_HOST") or "").strip()
    if not host:
        return default_endpoint(env), {}
    if host == "unix://" or host.startswith(("unix:///", "/", "ssh://")):
        return host, {}   # (TLS settings do not apply to an ssh tunnel)
    from docker.utils import kwargs_from_env

    kwargs = kwargs_from_env(environment=dict(env))
    return kwargs.get("base_url") or DEFAULT_ENDPOINT, kwargs


def default_endpoint(environ: Optional[dict[str, str]] = None) -> str:
    """Where the engine is when neither --host nor DOCKER_HOST says: the system socket; or, for a
    user who has no system socket but runs a rootless daemon, that daemon's socket
    $XDG_RUNTIME_DIR/docker.sock (the one dockerd-rootless.sh makes)."""
    env = os.environ if environ is None else environ
    runtime_dir = (env.get("XDG_RUNTIME_DIR") or "").strip()
    if runtime_dir.startswith("/") and not os.path.lexists(DEFAULT_ENDPOINT[len("unix://"):]):
        candidate = os.path.join(runtime_dir, "docker.sock")
        try:
            if stat.S_ISSOCK(os.stat(candidate).st_mode):
                return "unix://" + candidate
        except OSError:
            pass
    return DEFAULT_ENDPOINT


def is_local_endpoint(endpoint: str) -> bool:
    return endpoint.startswith(("unix://", "npipe://"))
