"""The Engine API: version, info, containers (one inspect each) and images.

A local engine (a unix socket: the usual case) is spoken to with a small HTTP/1.1 client over the
socket, from the standard library. The same client speaks to an ssh:// engine through
`ssh ... docker system dial-stdio`, as the docker CLI does (the docker SDK would need paramiko for
that, even with use_ssh_client). The docker SDK serves the other endpoints (tcp with TLS, npipe)
and is imported only then. That keeps a local audit's cost close to what the Engine API
itself costs: the SDK (requests, urllib3) takes about 0.1 s to import and spends about 2 ms of
Python per request, several times what dockerd needs to answer an inspect; this client spends
about 0.15 ms.
"""
from __future__ import annotations

import fnmatch
import io
import json
import math
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from bench import TOOL_NAME, __version__
from bench.facts import ContainerFacts, ContainersFacts, EngineFacts, ImagesFacts
from bench.redact import redact_inspect

DEFAULT_TIMEOUT = 10.0
DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"
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


def describe_api_error(exc: BaseException) -> str:
    """One line that says what went wrong talking to the daemon, without a traceback."""
    if isinstance(exc, SshError):   # ssh's own words ("Permission denied (publickey)") say it best
        return _first_line(str(exc))
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, PermissionError) or "permission denied" in lowered:
        return f"permission denied on the Docker API socket ({_first_line(text)})"
    if isinstance(exc, FileNotFoundError) or "no such file" in lowered or "filenotfound" in lowered:
        return f"the Docker API socket does not exist ({_first_line(text)})"
    if isinstance(exc, ConnectionRefusedError) or "connection refused" in lowered:
        return f"the Docker daemon refused the connection ({_first_line(text)})"
    if isinstance(exc, TimeoutError) or "timed out" in lowered or "timeout" in lowered:
        return f"the Docker API did not answer in time ({_first_line(text)})"
    return f"{type(exc).__name__}: {_first_line(text)}"


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:300]


def is_not_found(exc: BaseException) -> bool:
    """A 404 from either client (docker.errors.NotFound has the same status_code)."""
    return getattr(exc, "status_code", None) == 404


# -- the local client ----------------------------------------------------------------------------

class _ClosedBeforeAnswer(Exception):
    """A kept-alive connection was closed by the daemon before it answered (safe to retry once)."""


class EngineAPIError(Exception):
    """An error answer from the Engine API; worded like the SDK's docker.errors.APIError."""

    def __init__(self, status_code: int, reason: str, url: str, explanation: str):
        self.status_code, self.reason, self.url, self.explanation = status_code, reason, url, explanation
        kind = "Client" if status_code < 500 else "Server"
        message = f"{status_code} {kind} Error for {url}: {reason}"
        super().__init__(f'{message} ("{explanation}")' if explanation else message)


class ProtocolError(OSError):
    """The peer on the socket did not answer in HTTP/1.x as the Engine API does."""


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
    written and parsed here directly: http.client costs more Python per request (its email-based
    header parser) than dockerd spends answering an inspect. The methods the collectors call have
    the docker SDK's APIClient names and results, so either client serves a session.
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

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        return self.get(f"/exec/{_quote(exec_id)}/json")


def _quote(part: str) -> str:
    from urllib.parse import quote

    return quote(str(part), safe="")


# -- ssh:// engines ------------------------------------------------------------------------------

class SshError(ConnectionError):
    """ssh could not take the audit to the remote engine; the message is one line, in ssh's words."""


SSH_GRACE = 2.0   # seconds an ssh whose input has closed gets to end by itself before it is killed


def parse_ssh_url(url: str) -> tuple[Optional[str], str, Optional[int]]:
    """(user, host, port) of ssh://[user@]host[:port], as the docker CLI takes it."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SshError(f"bad ssh address {url!r}: {exc}") from None
    if parts.scheme != "ssh" or not parts.hostname:
        raise SshError(f"bad ssh address {url!r}: expected ssh://[user@]host[:port]")
    if parts.password is not None:
        raise SshError(f"bad ssh address {url!r}: no password in the address; use a key or ssh-agent")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SshError(f"bad ssh address {url!r}: nothing may follow host[:port]")
    if parts.hostname.startswith("-") or (parts.username or "").startswith("-"):
        raise SshError(f"bad ssh address {url!r}")
    return parts.username, parts.hostname, port


def ssh_argv(url: str, timeout: float) -> list[str]:
    """The command the docker CLI runs for an ssh:// host, made safe to run unattended: no prompts
    (BatchMode: keys or ssh-agent only; an unknown host key fails instead of asking), and a bound
    on the time to connect. The user's ~/.ssh/config applies as usual."""
    import math

    user, host, port = parse_ssh_url(url)
    argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, math.ceil(timeout))}", "-T"]
    if user:
        argv += ["-l", user]
    if port:
        argv += ["-p", str(port)]
    return argv + ["--", host, "docker", "system", "dial-stdio"]


class SshClient(UnixSocketClient):
    """The Engine API of a remote host through `ssh HOST docker system dial-stdio`: the remote
    docker CLI relays the HTTP requests to its daemon's socket. Each client runs one ssh process
    (argv list, no shell here), spoken to over a socket pair."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT, api_version: Optional[str] = None):
        super().__init__(url, timeout, api_version)
        self.url = url
        self._proc: Any = None
        self._stderr: Any = None
        self._failure: Optional[str] = None

    def _open(self) -> socket.socket:
        import shutil
        import subprocess
        import tempfile

        argv = ssh_argv(self.url, self.timeout)
        ssh = shutil.which("ssh")
        if not ssh:
            raise SshError(f"cannot reach {self.url}: the ssh client is not installed (apt-get install openssh-client)")
        ours, theirs = socket.socketpair()
        stderr = tempfile.TemporaryFile()
        try:
            # A session of its own: no terminal to prompt on, and a Ctrl-C reaches the auditor only.
            proc = subprocess.Popen([ssh, *argv[1:]], stdin=theirs, stdout=theirs, stderr=stderr,
                                    close_fds=True, start_new_session=True)
        except OSError as exc:
            ours.close()
            stderr.close()
            raise SshError(f"cannot run ssh for {self.url}: {exc.strerror or exc}") from None
        finally:
            theirs.close()
        ours.settimeout(self.timeout)
        self._proc, self._stderr = proc, stderr
        return ours

    def close(self) -> None:
        proc, stderr = self._proc, self._stderr
        self._proc = self._stderr = None
        super().close()  # ssh reads the end of its input and ends
        if proc is None:
            return
        import subprocess

        try:
            code: Optional[int] = proc.wait(timeout=SSH_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        try:
            if code:  # ended by itself, unhappily: ssh (255) or the remote command said why
                stderr.seek(0)
                self._failure = _ssh_failure(self.url, code, stderr.read(65536).decode("utf-8", "replace"))
        finally:
            stderr.close()

    def get(self, path: str, versioned: bool = True) -> Any:
        self._failure = None
        try:
            return super().get(path, versioned)
        except SshError:
            raise
        except (OSError, ProtocolError):
            failure, self._failure = self._failure, None
            if failure:
                raise SshError(failure) from None
            raise


def _ssh_failure(url: str, code: int, stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and not line.startswith(("Warning: Permanently added", "Pseudo-terminal"))]
    said = lines[-1] if lines else "no message"
    hint = " (is the docker CLI installed on the remote host?)" if code == 127 else ""
    return f"ssh to {url} failed (exit {code}): {said}{hint}"[:400]


# -- sessions ------------------------------------------------------------------------------------

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
    import stat

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
    """A connection to one Engine, with a client per worker thread (neither the SDK's requests
    session nor a UnixSocketClient is thread-safe)."""

    def __init__(self, options: EngineOptions, environ: Optional[dict[str, str]] = None):
        self.options = options
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[Any] = []
        self.api_version: Optional[str] = None
        self._env_kwargs: dict[str, Any] = {}
        if options.base_url:
            self.endpoint = options.base_url
            # As with `docker -H`: DOCKER_TLS_VERIFY / DOCKER_CERT_PATH apply to an endpoint given on
            # the command line too (nothing is read, nor the SDK imported, for a unix socket).
            _, self._env_kwargs = _endpoint_from_env({**(os.environ if environ is None else environ),
                                                      "DOCKER_HOST": options.base_url})
        else:
            self.endpoint, self._env_kwargs = _endpoint_from_env(environ)
        if self.endpoint.startswith("/"):
            self.endpoint = "unix://" + self.endpoint
        if self.endpoint == "unix://":
            self.endpoint = DEFAULT_ENDPOINT

    @property
    def local(self) -> bool:
        return is_local_endpoint(self.endpoint)

    @property
    def socket_path(self) -> Optional[str]:
        if self.endpoint.startswith("unix://"):
            return self.endpoint[len("unix://"):]
        return None

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
                known = self.api_version or next((c.api_version for c in self._clients
                                                  if getattr(c, "api_version", None)), None)
            client = self._new_client(known)
            with self._lock:
                self._clients.append(client)
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

    def release(self) -> None:
        """Close the calling thread's client (a worker thread that is about to end)."""
        client = getattr(self._local, "client", None)
        if client is not None:
            self._local.client = None
            with self._lock:
                self._clients = [c for c in self._clients if c is not client]
            try:
                client.close()
            except Exception:
                pass

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            try:
                client.close()
            except Exception:
                pass


def collect_engine(session: EngineSession) -> EngineFacts:
    facts = EngineFacts(error=None, endpoint=session.endpoint, local=session.local)
    try:
        client = session.client()
        facts.version = client.version(api_version=False)
        facts.info = client.info()
        session.api_version = session.api_version or getattr(client, "api_version", None)
    except Exception as exc:  # the SDK raises many types: requests, docker.errors, OSError
        facts.error = describe_api_error(exc)
    return facts


def is_local_endpoint(endpoint: str) -> bool:
    return endpoint.startswith(("unix://", "npipe://"))


def container_name(summary: dict[str, Any]) -> str:
    names = summary.get("Names") or []
    return (names[0] if names else summary.get("Id", "")[:12]).lstrip("/")


def select(name: str, include: list[str], exclude: list[str]) -> bool:
    if include and not any(fnmatch.fnmatchcase(name, pattern) for pattern in include):
        return False
    return not any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude)


def collect_containers(session: EngineSession, progress: Optional[Callable[[int, int], None]] = None) -> ContainersFacts:
    """List the containers once and inspect each selected one exactly once, with at most
    `options.workers` inspect requests in flight."""
    options = session.options
    facts = ContainersFacts(error=None, scope="all" if options.all_containers else "running")
    try:
        summaries = session.client().containers(all=options.all_containers, trunc=False)
    except Exception as exc:
        facts.error = describe_api_error(exc)
        return facts
    wanted: list[tuple[str, str]] = []
    seen: set[str] = set()
    for summary in summaries:
        name = container_name(summary)
        if summary["Id"] in seen:
            continue
        seen.add(summary["Id"])
        if select(name, options.include, options.exclude):
            wanted.append((summary["Id"], name))
        else:
            facts.excluded.append(name)

    total = len(wanted)
    results: list[Optional[ContainerFacts]] = [None] * total
    lock = threading.Lock()
    state = {"next": 0, "done": 0}

    def worker() -> None:
        # Workers take the next container from a shared cursor: one request per worker at a time,
        # so requests in flight never exceed the number of workers.
        while True:
            with lock:
                index = state["next"]
                if index >= total:
                    return
                state["next"] = index + 1
            container_id, name = wanted[index]
            results[index] = _inspect_one(session, container_id, name, options.all_containers, facts.notes, lock)
            if progress is not None:
                with lock:
                    state["done"] += 1
                    done = state["done"]
                progress(done, total)

    failures: list[BaseException] = []

    def helper() -> None:
        try:
            worker()
        except BaseException as exc:  # re-raised in the calling thread: no container is lost silently
            failures.append(exc)
        finally:
            session.release()

    workers = max(1, min(int(options.workers or 1), total))
    if workers == 1:
        worker()
    else:
        threads = [threading.Thread(target=helper, name=f"inspect-{n}", daemon=True) for n in range(workers - 1)]
        for thread in threads:
            thread.start()
        try:
            worker()  # the calling thread is one of the workers, and its client is already connected
        finally:
            for thread in threads:
                thread.join()
        if failures:
            raise failures[0]
    facts.items = sorted((r for r in results if r is not None), key=lambda c: (c.name, c.id))
    return facts


def _inspect_one(session: EngineSession, container_id: str, name: str, all_containers: bool,
                 notes: list[str], lock: threading.Lock) -> Optional[ContainerFacts]:
    try:
        data = session.client().inspect_container(container_id)
    except Exception as exc:
        if is_not_found(exc):
            with lock:
                notes.append(f"container {name} was removed between listing and inspection; left out")
            return None
        return ContainerFacts(id=container_id, name=name, error=f"inspect failed: {describe_api_error(exc)}")
    if not all_containers and not (data.get("State") or {}).get("Running", False):
        with lock:
            notes.append(f"container {name} stopped between listing and inspection; left out")
        return None
    # `data` was decoded from this response alone: redacting it in place saves a deep copy.
    return ContainerFacts(id=container_id, name=name, inspect=redact_inspect(data, in_place=True))


def collect_images(session: EngineSession) -> ImagesFacts:
    facts = ImagesFacts(error=None)
    try:
        summaries = session.client().images(all=False)
    except Exception as exc:
        facts.error = describe_api_error(exc)
        return facts
    keep = ("Id", "RepoTags", "RepoDigests", "Created", "Size", "Containers", "ParentId")
    facts.items = [{k: s.get(k) for k in keep if k in s} for s in summaries]
    return facts
