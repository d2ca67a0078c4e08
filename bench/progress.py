"""A progress line on stderr for long audits: only on a terminal, only after about a second.

Nothing is ever written to stdout, and nothing at all when the stream is not a terminal (a pipe, a
file, CI logs): no thread is started either. On a terminal the line appears once the audit has
run for `delay` seconds -- redrawn by a small ticker thread, so that it also shows while one slow
API call is pending -- and is erased when the work is done, leaving the terminal as it was.
"""
from __future__ import annotations

import threading
import time
from typing import IO, Any, Optional

DELAY = 1.0          # seconds before anything is shown: short audits stay silent
INTERVAL = 0.1       # at most ten redraws a second
STAGES = {"inspect": "inspecting containers", "inspect-all": "inspecting containers and images"}
IDLE = "collecting facts"


class Progress:
    def __init__(self, stream: IO[str], delay: float = DELAY, clock: Any = time.monotonic,
                 interval: float = INTERVAL, ticker: bool = True):
        self.stream = stream
        self.delay = delay
        self.clock = clock
        self.interval = interval
        self.enabled = _is_tty(stream)
        self.started = clock()
        self.shown = False
        self.last_draw: Optional[float] = None
        self.last_text = ""
        self.stage, self.done, self.total = IDLE, 0, 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        if self.enabled and ticker:
            self._thread = threading.Thread(target=self._tick_until_closed, name="progress", daemon=True)
            self._thread.start()

    def update(self, stage: str, done: int = 0, total: int = 0) -> None:
        """Record where the work is (any thread may call this) and redraw when it is time to."""
        if not self.enabled:
            return
        with self._lock:
            self.stage, self.done, self.total = STAGES.get(stage, stage), done, total
            self._draw(force=bool(total) and done >= total)

    def tick(self) -> None:
        """Redraw if it is time to, without news (the ticker thread calls this)."""
        if not self.enabled:
            return
        with self._lock:
            self._draw(force=False)

    def _draw(self, force: bool) -> None:
        if self._stop.is_set():
            return
        now = self.clock()
        if now - self.started < self.delay:
            return
        if not force and self.last_draw is not None and now - self.last_draw < self.interval:
            return
        # Counts when there are some; else the seconds spent, so a slow API call still shows life.
        text = (f"{self.stage} {self.done}/{self.total}" if self.total else
                f"{self.stage} ... {int(now - self.started)} s")
        if text == self.last_text:
            return
        self.last_draw, self.last_text = now, text
        try:
            self.stream.write(f"\r\x1b[K{text}")
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: stop drawing, never fail the audit
            self.enabled = False
            return
        self.shown = True

    def _tick_until_closed(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None
        with self._lock:
            if self.shown:
                try:
                    self.stream.write("\r\x1b[K")
                    self.stream.flush()
                except (OSError, ValueError):
                    pass
                self.shown = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Optional[object]) -> None:
        self.close()


def _is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
