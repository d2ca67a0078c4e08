"""A connection to one Engine, with a client per thread: neither the SDK's requests session nor a
UnixSocketClient is thread-safe, and the collectors inspect containers from several threads."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

from bench.engine_api.endpoint import is_local_endpoint, resolve_endpoint
from bench.engine_api.ssh import SshClient
from bench.engine_api.unix import DEFAULT_TIMEOUT, UnixSocketClient

# Inspect requests in flight at once. dockerd answers an inspect from memory in well under a
# millisecond of its own CPU; the rest of the cost is the auditor decoding JSON (which holds the
# GIL, so more threads do not make Python faster). Two to four requests in flight keep dockerd and
# the auditor both busy on a 2-core host -- one thread waits on the socket while another decodes --
# and beyond that threads only queue on the GIL and on the daemon. The bound also caps what an
# audit asks of a busy production daemon: never more than this many requests at once.
MAX_CONCURRENT_INSPECTS = 4


def default_workers() -> int:
    """MAX_CONCURRENT_INSPECTS, and fewer on a single-CPU host (where a second request in flight
    only competes with the daemon for the one core)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_CONCURRENT_INSPECTS, 2 * cpus))


@dataclass
class EngineOptions:
    base_url: Optional[str] = None      # None: DOCKER_HOST or the default local socket
    timeout: float = DEFAULT_TIMEOUT
    tls: Any = None                     # docker.tls.TLSConfig, or None
    all_containers: bool = False
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    workers: int = field(default_factory=default_workers)


_SDK_CLIENT: Any = None


def _sdk_client_class(docker: Any) -> Any:
    """docker.APIClient, except that the daemon's CA (DOCKER_CERT_PATH/ca.pem, or a TLSConfig's
    ca_cert) wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, which requests otherwise lets replace a
    session's CA file on every request: verification against a private CA then fails, where the
    docker CLI succeeds."""
    global _SDK_CLIENT
    if _SDK_CLIENT is None:
        class APIClient(docker.APIClient):  # type: ignore[name-defined,misc]
            def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                           cert: Any) -> Any:
                settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
                if isinstance(self.verify, str) and verify in (None, True):
                    settings["verify"] = self.verify
                return settings

        _SDK_CLIENT = APIClient
    return _SDK_CLIENT


class EngineSession:
    """The endpoint and the clients of one audit. The SDK serves tcp (TLS) and npipe endpoints and
    is imported only for them: for a local socket it would cost more Python per request than
    dockerd spends answering."""

    def __init__(self, options: EngineOptions, environ: Optional[dict[str, str]] = None):
        self.options = options
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[tuple[threading.Thread, Any]] = []
        self.api_version: Optional[str] = None
        self.endpoint, self._env_kwargs = resolve_endpoint(options.base_url, environ)

    @property
    def local(self) -> bool:
        return is_local_endpoint(self.endpoint)

    @property
    def socket_path(self) -> Optional[str]:
        if self.endpoint.startswith("unix://"):
            return self.endpoint[len("unix://"):]
        return None

    @property
    def loopback_address(self) -> Optional[str]:
        """"127.0.0.1:PORT" for a tcp endpoint on this machine's loopback (whose daemon may be a
        local one, to be proven by the sockets it holds), else None."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("tcp", "http", "https"):
            return None
        host = parts.hostname or ""
        if host not in ("localhost", "::1") and not host.startswith("127."):
            return None
        try:
            port = parts.port
        except ValueError:
            return None
        return f"127.0.0.1:{port or (2376 if self.transport == 'tls' else 2375)}"

    @property
    def transport(self) -> str:
        """unix, ssh, tls or tcp (plain: anyone on the network could have done what this audit did)."""
        scheme = self.endpoint.split("://", 1)[0]
        if scheme in ("tcp", "http", "https"):
            return "tls" if self.options.tls is not None or self._env_kwargs.get("tls") or scheme == "https" else "tcp"
        return scheme

    @property
    def uses_sdk(self) -> bool:
        if self.endpoint.startswith("ssh://"):
            return False
        return not (self.endpoint.startswith("unix:///") and self.options.tls is None)

    def client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            with self._lock:
                # A thread's first client learns the API version from one the session already has.
                known = self.api_version or next((c.api_version for _, c in self._clients
                                                  if getattr(c, "api_version", None)), None)
            client = self._new_client(known)
            with self._lock:
                self._clients.append((threading.current_thread(), client))
            if getattr(client, "api_version", None):
                self.api_version = self.api_version or client.api_version
            self._local.client = client
        return client

    def _new_client(self, api_version: Optional[str]) -> Any:
        if self.endpoint.startswith("ssh://"):
            return SshClient(self.endpoint, self.options.timeout, api_version)
        if not self.uses_sdk:
            return UnixSocketClient(self.endpoint[len("unix://"):], self.options.timeout, api_version)
        import docker

        kwargs: dict[str, Any] = dict(self._env_kwargs)
        kwargs["base_url"] = self.endpoint
        kwargs["timeout"] = self.options.timeout
        if self.options.tls is not None:
            kwargs["tls"] = self.options.tls
        kwargs["version"] = api_version or "auto"
        return _sdk_client_class(docker)(**kwargs)

    def release_ended(self) -> None:
        """Close the clients of threads that have ended (a worker pool's, once it is shut down), so
        that their connections do not stay open for the rest of the audit."""
        with self._lock:
            ended = [client for thread, client in self._clients if not thread.is_alive()]
            self._clients = [(thread, client) for thread, client in self._clients if thread.is_alive()]
        _close_all(ended)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = [client for _, client in self._clients], []
        _close_all(clients)


def _close_all(clients: list[Any]) -> None:
    for client in clients:
        try:
            client.close()
        except Exception:   # a connection that cannot even close has nothing left to lose
            pass
