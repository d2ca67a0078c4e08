"""The Engine API of a remote host over ssh, as the docker CLI reaches one: `ssh HOST docker system
dial-stdio` relays the HTTP requests to the remote daemon's socket. The system's ssh client is run
rather than paramiko (which the SDK would need even with use_ssh_client), so the user's
~/.ssh/config, agent and known hosts apply as they do for the docker CLI."""
from __future__ import annotations

import socket
from typing import Any, Optional

from bench.engine_api.errors import ProtocolError, SshError
from bench.engine_api.unix import DEFAULT_TIMEOUT, UnixSocketClient

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
    on the time to connect."""
    import math

    user, host, port = parse_ssh_url(url)
    argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, math.ceil(timeout))}", "-T"]
    if user:
        argv += ["-l", user]
    if port:
        argv += ["-p", str(port)]
    return argv + ["--", host, "docker", "system", "dial-stdio"]


class SshClient(UnixSocketClient):
    """The unix-socket client's HTTP over one ssh process per client (argv list, no shell), spoken
    to through a socket pair."""

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
