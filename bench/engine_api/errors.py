"""What went wrong talking to the Engine API, in the words an operator needs."""
from __future__ import annotations


class EngineAPIError(Exception):
    """An error answer from the Engine API; worded like the SDK's docker.errors.APIError."""

    def __init__(self, status_code: int, reason: str, url: str, explanation: str):
        self.status_code, self.reason, self.url, self.explanation = status_code, reason, url, explanation
        kind = "Client" if status_code < 500 else "Server"
        message = f"{status_code} {kind} Error for {url}: {reason}"
        super().__init__(f'{message} ("{explanation}")' if explanation else message)


class ProtocolError(OSError):
    """The peer on the socket did not answer in HTTP/1.x as the Engine API does."""


class SshError(ConnectionError):
    """ssh could not take the audit to the remote engine; the message is one line, in ssh's words."""


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
