"""The Engine API client for local sockets (bench/engine_api/unix.py), against a scripted unix-socket
server: lengths and chunks, kept-alive connections, errors worded like the SDK's, timeouts; and a
local audit that never imports the docker SDK."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench.collect.engine import collect_containers, collect_engine
from bench.engine_api import unix
from bench.engine_api.errors import EngineAPIError, ProtocolError, describe_api_error, is_not_found
from bench.engine_api.session import EngineOptions, EngineSession
from bench.engine_api.unix import UnixSocketClient

REPO = Path(__file__).resolve().parent.parent


def answer(status: str, body: bytes, chunked: bool = False, extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\n{extra}"
    if not chunked:
        return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:7], body[7:]) if part)
    return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks + b"0\r\n\r\n"


class Server:
    """Answers each request with the next scripted reply: bytes, or "close" (hang up without
    answering), or "hang" (never answer), or ("drip", head) (send head, then a byte every 0.05 s
    until the client goes). Records request lines and connections."""

    def __init__(self, path: Path, replies: list):
        self.path, self.replies = str(path), list(replies)
        self.requests: list[str] = []
        self.connections = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.held.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        while True:
            lines = []
            while True:
                line = reader.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                lines.append(line.decode().rstrip())
            self.requests.append(lines[0])
            reply = self.replies.pop(0) if self.replies else b""
            if reply == "close":
                conn.close()
                return
            if reply == "hang":
                return
            if isinstance(reply, tuple):
                try:
                    conn.sendall(reply[1])
                    while True:
                        time.sleep(0.05)
                        conn.sendall(b"x")
                except OSError:
                    return
            conn.sendall(reply)

    def stop(self) -> None:
        self.sock.close()
        for conn in self.held:
            try:
                conn.close()
            except OSError:
                pass


@pytest.fixture
def server(tmp_path):
    made = []

    def start(replies: list) -> Server:
        made.append(Server(tmp_path / "d.sock", replies))
        return made[-1]

    yield start
    for one in made:
        one.stop()


VERSION = json.dumps({"Version": "20.10.24", "ApiVersion": "1.41"}).encode()


def test_lengths_and_chunks_over_one_kept_alive_connection(server):
    srv = server([answer("200 OK", VERSION), answer("200 OK", b'{"Id": "abc", "Name": "/web"}', chunked=True),
                  answer("200 OK", b"[]", chunked=True)])
    client = UnixSocketClient(srv.path, timeout=5)
    assert client.version()["Version"] == "20.10.24"
    assert client.inspect_container("abc") == {"Id": "abc", "Name": "/web"}
    assert client.images() == []
    assert client.api_version == "1.41"
    assert srv.requests == ["GET /version HTTP/1.1", "GET /v1.41/containers/abc/json HTTP/1.1",
                            "GET /v1.41/images/json?only_ids=0&all=0 HTTP/1.1"]
    assert srv.connections == 1
    client.close()


def test_an_error_reads_like_the_sdk_and_404_is_not_found(server):
    srv = server([answer("404 Not Found", b'{"message": "No such container: nope"}')])
    client = UnixSocketClient(srv.path, timeout=5, api_version="1.41")
    with pytest.raises(EngineAPIError) as caught:
        client.inspect_container("nope")
    assert is_not_found(caught.value) and caught.value.status_code == 404
    assert str(caught.value) == ('404 Client Error for http+docker://localhost/v1.41/containers/nope/json: '
                                 'Not Found ("No such container: nope")')


def test_a_kept_alive_connection_closed_by_the_daemon_is_retried_once(server):
    srv = server([answer("200 OK", VERSION), "close", answer("200 OK", b"{}")])
    client = UnixSocketClient(srv.path, timeout=5)
    client.version()
    assert client.info() == {}
    assert srv.connections == 2


def test_connection_close_is_honoured(server):
    srv = server([answer("200 OK", b"{}", extra="Connection: close\r\n"), answer("200 OK", b"[]")])
    client = UnixSocketClient(srv.path, timeout=5, api_version="1.41")
    assert client.info() == {}
    assert client._sock is None
    assert client.images() == []
    assert srv.connections == 2


def test_a_fresh_connection_that_closes_is_an_error_not_a_loop(server):
    srv = server(["close", "close", "close"])
    client = UnixSocketClient(srv.path, timeout=5, api_version="1.41")
    with pytest.raises(ConnectionResetError):
        client.info()
    assert srv.connections == 1


def test_a_hung_daemon_times_out(server):
    srv = server(["hang"])
    client = UnixSocketClient(srv.path, timeout=0.3, api_version="1.41")
    with pytest.raises(OSError) as caught:
        client.info()
    assert "did not answer in time" in describe_api_error(caught.value)


def test_a_dripping_answer_is_cut_off_at_the_timeout_of_the_whole_call(server):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    srv = server([("drip", head)])
    client = UnixSocketClient(srv.path, timeout=0.5, api_version="1.41")
    started = time.monotonic()
    with pytest.raises(OSError) as caught:
        client.info()
    assert time.monotonic() - started < 2   # each byte came within 0.05 s: only a whole-call bound stops it
    assert "did not answer in time" in describe_api_error(caught.value)
    assert client._sock is None


@pytest.mark.parametrize("chunked", [False, True])
def test_an_answer_over_the_size_bound_is_refused(server, monkeypatch, chunked):
    monkeypatch.setattr(unix, "MAX_BODY", 100)
    srv = server([answer("200 OK", b'{"Name": "%s"}' % (b"x" * 200), chunked=chunked)])
    client = UnixSocketClient(srv.path, timeout=5, api_version="1.41")
    with pytest.raises(ProtocolError, match="too large"):
        client.info()
    assert client._sock is None


def test_garbage_is_a_protocol_error(server):
    srv = server([b"SSH-2.0-OpenSSH_9.2\r\n\r\n"])
    client = UnixSocketClient(srv.path, timeout=5, api_version="1.41")
    with pytest.raises(ProtocolError):
        client.info()


def test_missing_socket_is_named(tmp_path):
    client = UnixSocketClient(str(tmp_path / "none.sock"), timeout=1)
    with pytest.raises(FileNotFoundError) as caught:
        client.version()
    assert "none.sock" in str(caught.value)
    assert "does not exist" in describe_api_error(caught.value)


def test_a_session_learns_the_api_version_once(server):
    summaries = json.dumps([{"Id": f"{n:064x}", "Names": [f"/c{n}"]} for n in range(6)]).encode()
    inspect = json.dumps({"State": {"Running": True}, "Config": {"Env": ["A=b"]}}).encode()
    bridge = json.dumps({"Name": "bridge", "Options": {"com.docker.network.bridge.enable_icc": "false"}}).encode()
    srv = server([answer("200 OK", VERSION), answer("200 OK", b'{"Name": "h"}'), answer("200 OK", bridge),
                  answer("200 OK", summaries)] + [answer("200 OK", inspect, chunked=True)] * 6)
    session = EngineSession(EngineOptions(base_url=f"unix://{srv.path}", workers=3))
    assert not session.uses_sdk
    engine = collect_engine(session)
    assert engine.error is None and engine.info == {"Name": "h"}
    assert engine.default_bridge["Options"]["com.docker.network.bridge.enable_icc"] == "false"
    containers = collect_containers(session)
    assert [c.name for c in containers.items] == [f"c{n}" for n in range(6)]
    assert containers.items[0].inspect["Config"]["Env"] == ["A=<redacted>"]
    assert srv.requests.count("GET /version HTTP/1.1") == 1
    assert sum("/containers/" in r and r.endswith("/json HTTP/1.1") for r in srv.requests) == 6
    session.close()


def test_other_endpoints_use_the_sdk():
    assert EngineSession(EngineOptions(base_url="tcp://127.0.0.1:2376")).uses_sdk
    assert not EngineSession(EngineOptions(base_url="unix:///var/run/docker.sock")).uses_sdk
    assert not EngineSession(EngineOptions(), environ={}).uses_sdk
    assert EngineSession(EngineOptions(), environ={}).endpoint == "unix:///var/run/docker.sock"
    assert EngineSession(EngineOptions(), environ={"DOCKER_HOST": "unix:///run/d.sock"}).endpoint == "unix:///run/d.sock"


def test_a_local_audit_imports_neither_the_sdk_nor_tabulate(tmp_path):
    """Start-up cost: a JSON audit of a local socket needs neither docker/requests nor tabulate."""
    code = (
        "import sys, io, contextlib\n"
        "from bench.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        f"    main(['--host', 'unix://{tmp_path}/none.sock', '--format', 'json'])\n"
        "print(sorted(m for m in ('docker', 'requests', 'urllib3', 'tabulate', 'http.client') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO), env=env,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
