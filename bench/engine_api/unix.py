"""The Engine API over a unix socket: GET requests on one kept-alive HTTP/1.1 connection, spoken
with the standard library's http.client."""
from __future__ import annotations

import http.client
import json
import math
import socket
import time
from typing import Any, Callable, Optional
from urllib.parse import quote

from bench import TOOL_NAME, __version__
from bench.engine_api.errors import EngineAPIError, ProtocolError

DEFAULT_TIMEOUT = 10.0
MAX_BODY = 256 * 1024 * 1024   # one API answer; an inspect is a few kB, a listing of 10,000 a few MB
MAX_HEAD = 1024 * 1024         # the status line and headers (http.client limits their number and lines)
_HEADERS = {"User-Agent": f"{TOOL_NAME}/{__version__}", "Accept": "application/json"}


class _DeadlineSocket(socket.socket):
    """A stream socket whose reads give up at the deadline of the API call they serve, or once it
    has read more than any answer may hold: --timeout bounds a whole call, not each read, so a
    daemon that answers a byte at a time cannot hold the audit, nor one that never stops (a
    negative chunk size makes http.client read to the end of the stream) fill the memory."""

    deadline = math.inf
    budget = MAX_BODY + MAX_HEAD

    def start_call(self, deadline: float) -> None:
        self.deadline, self.budget = deadline, MAX_BODY + MAX_HEAD
        self.settimeout(max(deadline - time.monotonic(), 0.001))   # for sending the request

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out")
        self.settimeout(min(remaining, 3600.0))
        received = super().recv_into(buffer, nbytes, flags)
        self.budget -= received
        if self.budget < 0:
            raise ProtocolError("answer too large")
        return received


class _Connection(http.client.HTTPConnection):
    """HTTP/1.1 over a stream socket that the client opens: a unix socket, or ssh's end of a pair."""

    def __init__(self, open_socket: Callable[[], socket.socket]):
        super().__init__("docker")   # the Host header the docker CLI sends too
        self._open_socket = open_socket

    def connect(self) -> None:
        self.sock = _DeadlineSocket(fileno=self._open_socket().detach())


class UnixSocketClient:
    """GET requests to the Engine API on a unix socket. The methods the collectors call have the
    docker SDK's APIClient names and results, so either client serves a session.
    Not thread-safe: a session gives each thread its own."""

    def __init__(self, path: str, timeout: float = DEFAULT_TIMEOUT, api_version: Optional[str] = None):
        self.path = path
        self.timeout = timeout
        self.api_version = api_version
        self._conn = _Connection(self._open)
        self._version: Optional[dict[str, Any]] = None

    @property
    def connected(self) -> bool:
        return self._conn.sock is not None

    def _open(self) -> socket.socket:
        """A connected stream socket to the Engine API (SshClient: one end of a pair with ssh)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            if exc.errno is not None and not exc.filename:  # name the socket in the message
                raise type(exc)(exc.errno, exc.strerror, self.path) from None
            raise
        except BaseException:
            sock.close()
            raise
        return sock

    def close(self) -> None:
        self._conn.close()

    def get(self, path: str, versioned: bool = True) -> Any:
        if versioned and self.api_version is None:
            self.version()
        url = f"/v{self.api_version}{path}" if versioned and self.api_version else path
        deadline = time.monotonic() + self.timeout
        for attempt in (1, 2):
            reused = self.connected
            try:
                status, reason, body = self._exchange(url, deadline)
                break
            except (BrokenPipeError, ConnectionResetError):  # http.client's RemoteDisconnected too
                # The daemon closed a kept-alive connection between two requests: a GET is safe to
                # send again, once, on a new connection.
                self.close()
                if attempt == 2 or not reused:
                    raise ConnectionResetError("the Docker daemon closed the connection without answering") from None
            except http.client.HTTPException as exc:
                self.close()
                raise ProtocolError(_protocol_problem(exc)) from None
            except BaseException:
                self.close()
                raise
        if status >= 400:
            try:
                explanation = str(json.loads(body).get("message", ""))
            except (ValueError, AttributeError):
                explanation = body.decode("utf-8", "replace").strip()[:500]
            raise EngineAPIError(status, reason, f"http+docker://localhost{url}", explanation)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ProtocolError(f"the answer to GET {url} is not JSON: {exc}") from None

    def _exchange(self, url: str, deadline: float) -> tuple[int, str, bytes]:
        if not self.connected:
            self._conn.connect()
        self._conn.sock.start_call(deadline)
        self._conn.request("GET", url, headers=_HEADERS)
        response = self._conn.getresponse()
        try:
            if response.length is not None and response.length > MAX_BODY:
                raise ProtocolError(f"answer of {response.length} bytes is too large")
            # Chunked or read to the end: a bound on the read, as a chunk's size is the daemon's word.
            body = response.read() if response.length is not None else response.read(MAX_BODY + 1)
            if len(body) > MAX_BODY:
                raise ProtocolError("answer too large")
            return response.status, response.reason, body
        finally:
            response.close()   # a whole answer was read (or the connection is dropped): no-op or cleanup

    # The subset of docker.APIClient the collectors use.
    def version(self, api_version: bool = False) -> dict[str, Any]:
        if self._version is None:
            # Unversioned, as `docker.APIClient(version="auto")` asks: the answer names the API
            # version every later request uses.
            self._version = self.get("/version", versioned=False)
            if self.api_version is None:
                self.api_version = str(self._version.get("ApiVersion") or "") or None
        return dict(self._version)

    def info(self) -> dict[str, Any]:
        return self.get("/info")

    def containers(self, all: bool = False, trunc: bool = False) -> list[dict[str, Any]]:  # noqa: A002
        return self.get(f"/containers/json?all={int(bool(all))}&limit=-1&size=0&trunc_cmd={int(bool(trunc))}")

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        return self.get(f"/containers/{quote(str(container_id), safe='')}/json")

    def images(self, all: bool = False) -> list[dict[str, Any]]:  # noqa: A002
        return self.get(f"/images/json?only_ids=0&all={int(bool(all))}")

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        return self.get(f"/exec/{quote(str(exec_id), safe='')}/json")


def _protocol_problem(exc: http.client.HTTPException) -> str:
    if isinstance(exc, http.client.IncompleteRead):
        return f"the connection closed after {len(exc.partial)} bytes of the answer"
    if isinstance(exc, http.client.BadStatusLine):
        return f"not an HTTP answer: {exc.line[:80]!r}"
    return f"not an HTTP answer the Engine API gives ({type(exc).__name__}: {str(exc)[:80]})"
