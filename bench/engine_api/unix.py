"""The Engine API over a unix socket: GET requests on one kept-alive HTTP/1.1 connection."""
from __future__ import annotations

import io
import json
import math
import socket
import time
from typing import Any, Optional

from bench import TOOL_NAME, __version__
from bench.engine_api.errors import EngineAPIError, ProtocolError

DEFAULT_TIMEOUT = 10.0


class _ClosedBeforeAnswer(Exception):
    """A kept-alive connection was closed by the daemon before it answered (safe to retry once)."""


MAX_BODY = 256 * 1024 * 1024   # one API answer; an inspect is a few kB, a listing of 10,000 a few MB
MAX_LINE = 65536


class _DeadlineSocketIO(socket.SocketIO):
    """A socket's raw reader that gives up at a deadline: --timeout bounds a whole API call, not
    each read, so a daemon that answers a byte at a time cannot hold the audit."""

    deadline = math.inf

    def readinto(self, buffer: Any) -> Optional[int]:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out")
        self._sock.settimeout(min(remaining, 3600.0))
        return super().readinto(buffer)


class UnixSocketClient:
    """GET requests to the Engine API on a unix socket, over one kept-alive HTTP/1.1 connection.

    The requests and answers are plain (GET, no body; JSON back, by length or chunked), so they are
    written and parsed here directly: on the 1,000-container benchmark an http.client-based client
    (its email-based header parser) made the whole audit more than 10 % slower; see
    perf/RESULTS.md before replacing this. The methods the collectors call have the docker
    SDK's APIClient names and results, so either client serves a session.
    Not thread-safe: a session gives each thread its own.
    """

    def __init__(self, path: str, timeout: float = DEFAULT_TIMEOUT, api_version: Optional[str] = None):
        self.path = path
        self.timeout = timeout
        self.api_version = api_version
        self._sock: Any = None
        self._reader: Any = None
        self._version: Optional[dict[str, Any]] = None

    def _connect(self) -> None:
        sock = self._open()
        self._raw = _DeadlineSocketIO(sock, "rb")
        self._sock, self._reader = sock, io.BufferedReader(self._raw)

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
        if self._sock is not None:
            try:
                self._reader.close()
                self._sock.close()
            finally:
                self._sock = self._reader = None

    def get(self, path: str, versioned: bool = True) -> Any:
        if versioned and self.api_version is None:
            self.version()
        url = f"/v{self.api_version}{path}" if versioned and self.api_version else path
        request = (f"GET {url} HTTP/1.1\r\nHost: docker\r\nUser-Agent: {TOOL_NAME}/{__version__}\r\n"
                   "Accept: application/json\r\n\r\n").encode("ascii")
        deadline = time.monotonic() + self.timeout
        for attempt in (1, 2):
            reused = self._sock is not None
            if not reused:
                self._connect()
            try:
                self._sock.settimeout(max(deadline - time.monotonic(), 0.001))
                self._sock.sendall(request)
                self._raw.deadline = deadline
                status, reason, body, keep = self._read_response()
                self._raw.deadline = math.inf
                break
            except (BrokenPipeError, ConnectionResetError, _ClosedBeforeAnswer):
                # The daemon closed a kept-alive connection between two requests: a GET is safe to
                # send again, once, on a new connection.
                self.close()
                if attempt == 2 or not reused:
                    raise ConnectionResetError("the Docker daemon closed the connection without answering") from None
            except BaseException:
                self.close()
                raise
        if not keep:
            self.close()
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

    def _line(self) -> bytes:
        line = self._reader.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise ProtocolError("over-long line in the HTTP answer")
        return line

    def _read_response(self) -> tuple[int, str, bytes, bool]:
        first = self._line()
        if not first:
            raise _ClosedBeforeAnswer()
        parts = first.decode("latin-1").rstrip("\r\n").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP answer: {first[:80]!r}")
        version, status, reason = parts[0], int(parts[1]), parts[2] if len(parts) > 2 else ""
        headers: dict[str, str] = {}
        while True:
            line = self._line()
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise ProtocolError("the connection closed in the middle of the HTTP headers")
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        keep = version != "HTTP/1.0" and "close" not in headers.get("connection", "").lower()
        if status in (204, 304) or 100 <= status < 200:
            return status, reason, b"", keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return status, reason, self._read_chunked(), keep
        if "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise ProtocolError(f"bad Content-Length {headers['content-length']!r}") from None
            if not 0 <= length <= MAX_BODY:
                raise ProtocolError(f"answer of {length} bytes is too large")
            return status, reason, self._read_exactly(length), keep
        # Neither length nor chunks: the body runs until the daemon closes the connection.
        body = self._reader.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise ProtocolError("answer too large")
        return status, reason, body, False

    def _read_exactly(self, length: int) -> bytes:
        data = self._reader.read(length)
        if len(data) != length:
            raise ProtocolError(f"the connection closed after {len(data)} of {length} bytes")
        return data

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            line = self._line()
            if not line:
                raise ProtocolError("the connection closed in the middle of a chunked answer")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size {line[:40]!r}") from None
            if size == 0:
                while self._line() not in (b"\r\n", b"\n", b""):  # trailers, if any
                    pass
                return b"".join(chunks)
            total += size
            if size < 0 or total > MAX_BODY:
                raise ProtocolError("answer too large")
            chunks.append(self._read_exactly(size))
            if self._line() not in (b"\r\n", b"\n"):
                raise ProtocolError("a chunk does not end with CRLF")

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
        return self.get(f"/containers/{_quote(container_id)}/json")

    def images(self, all: bool = False) -> list[dict[str, Any]]:  # noqa: A002
        return self.get(f"/images/json?only_ids=0&all={int(bool(all))}")

    def inspect_image(self, image: str) -> dict[str, Any]:
        return self.get(f"/images/{_quote(image)}/json")

    def history(self, image: str) -> list[dict[str, Any]]:
        return self.get(f"/images/{_quote(image)}/history")

    def inspect_network(self, net_id: str) -> dict[str, Any]:
        return self.get(f"/networks/{_quote(net_id)}")

    def inspect_volume(self, name: str) -> dict[str, Any]:
        return self.get(f"/volumes/{_quote(name)}")

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        return self.get(f"/exec/{_quote(exec_id)}/json")

    # Swarm lists, for the swarm collector (a manager answers them; a worker refuses with 503).
    def nodes(self) -> list[dict[str, Any]]:
        return self.get("/nodes")

    def networks(self) -> list[dict[str, Any]]:
        return self.get("/networks")

    def secrets(self) -> list[dict[str, Any]]:
        return self.get("/secrets")

    def services(self) -> list[dict[str, Any]]:
        return self.get("/services")


def _quote(part: str) -> str:
    from urllib.parse import quote

    return quote(str(part), safe="")
