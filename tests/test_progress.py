"""The progress line: on a terminal only, only once the audit has run for `delay` seconds, throttled,
erased at the end; nothing at all (and no thread) on a pipe or a file."""
from __future__ import annotations

import io
import threading

from bench.progress import Progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_before_the_delay_then_a_line_on_a_tty():
    stream, clock = FakeTTY(), Clock()
    progress = Progress(stream, delay=1.0, clock=clock, ticker=False)
    for done in range(1, 5):
        clock.now += 0.2
        progress.update("inspect", done, 100)
        progress.tick()
    assert stream.getvalue() == ""          # 0.8 s in: still silent
    clock.now += 0.3
    progress.update("inspect", 5, 100)
    assert stream.getvalue() == "\r\x1b[Kinspecting containers 5/100"
    progress.close()
    assert stream.getvalue().endswith("\r\x1b[K")   # the line is erased
    assert progress.shown is False


def test_redraws_are_throttled_but_the_last_count_is_shown():
    stream, clock = FakeTTY(), Clock()
    progress = Progress(stream, delay=1.0, interval=0.1, clock=clock, ticker=False)
    clock.now += 2.0
    for done in range(1, 100):
        progress.update("inspect", done, 100)   # all at one instant: one draw
    assert stream.getvalue().count("\r\x1b[K") == 1
    progress.update("inspect", 100, 100)        # done: always drawn
    assert stream.getvalue().endswith("inspecting containers 100/100")
    clock.now += 0.05
    progress.update("inspect", 100, 100)        # the same text again: not redrawn
    assert stream.getvalue().count("\r\x1b[K") == 2


def test_a_pending_stage_is_shown_by_the_ticker_without_news():
    stream, clock = FakeTTY(), Clock()
    progress = Progress(stream, delay=1.0, clock=clock, ticker=False)
    progress.tick()
    assert stream.getvalue() == ""
    clock.now += 1.5                             # a slow API call: no update comes
    progress.tick()
    assert stream.getvalue() == "\r\x1b[Kcollecting facts ... 1 s"
    clock.now += 0.2
    progress.tick()                              # nothing new to say: nothing redrawn
    assert stream.getvalue() == "\r\x1b[Kcollecting facts ... 1 s"
    clock.now += 1.0
    progress.tick()
    assert stream.getvalue().endswith("\r\x1b[Kcollecting facts ... 2 s")


def test_nothing_on_a_pipe_whatever_happens():
    stream, clock = Pipe(), Clock()
    before = threading.active_count()
    with Progress(stream, delay=1.0, clock=clock) as progress:
        assert threading.active_count() == before   # no ticker thread either
        clock.now += 10
        progress.update("inspect", 1, 2)
        progress.tick()
        progress.update("inspect", 2, 2)
    assert stream.getvalue() == ""


def test_a_stream_without_isatty_counts_as_not_a_terminal():
    class Bare:
        def __init__(self) -> None:
            self.written: list[str] = []

        def write(self, text: str) -> None:
            self.written.append(text)

        def flush(self) -> None:
            pass

    stream, clock = Bare(), Clock()
    progress = Progress(stream, delay=0.0, clock=clock, ticker=False)  # type: ignore[arg-type]
    clock.now += 5
    progress.update("inspect", 1, 1)
    progress.close()
    assert stream.written == []


def test_a_short_run_leaves_the_terminal_untouched():
    stream, clock = FakeTTY(), Clock()
    with Progress(stream, delay=1.0, clock=clock, ticker=False) as progress:
        clock.now += 0.5
        progress.update("inspect", 10, 10)
    assert stream.getvalue() == ""


def test_the_ticker_thread_draws_and_stops():
    stream = FakeTTY()
    progress = Progress(stream, delay=0.0, interval=0.01)
    try:
        for _ in range(200):
            if stream.getvalue():
                break
            threading.Event().wait(0.01)
        assert stream.getvalue().startswith("\r\x1b[Kcollecting facts")
    finally:
        progress.close()
    assert progress._thread is None
    assert stream.getvalue().endswith("\r\x1b[K")
    size = len(stream.getvalue())
    threading.Event().wait(0.05)
    assert len(stream.getvalue()) == size       # nothing drawn after close


def test_a_broken_terminal_does_not_break_the_audit():
    class Gone(FakeTTY):
        def write(self, text: str) -> int:
            raise OSError(5, "Input/output error")

    clock = Clock()
    progress = Progress(Gone(), delay=0.0, clock=clock, ticker=False)
    clock.now += 1
    progress.update("inspect", 1, 3)
    progress.update("inspect", 2, 3)
    progress.close()
    assert progress.enabled is False
