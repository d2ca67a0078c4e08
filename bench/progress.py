"""A progress line on stderr for long audits: only on a terminal, only after about a second."""
from __future__ import annotations

import time
from typing import IO, Any, Optional

DELAY = 1.0


class Progress:
    def __init__(self, stream: IO[str], delay: float = DELAY, clock: Any = time.monotonic):
        self.stream = stream
        self.delay = delay
        self.clock = clock
        self.enabled = _is_tty(stream)
        self.started = clock()
        self.shown = False
        self.last_draw = 0.0

    def update(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if now - self.started < self.delay:
            return
        if done < total and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        self.shown = True
        self.stream.write(f"\r\x1b[K{stage} {done}/{total}")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Optional[object]) -> None:
        self.close()


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
