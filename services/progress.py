"""Progress for work people wait on, on stderr: a count with rate (`Progress`) or a stage with
its elapsed time (`Stage`). On a terminal the line updates in place; otherwise (logs, pipes,
CI) only the final line is written, so logs stay readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from types import TracebackType
from typing import TextIO


def _live(stream: TextIO) -> bool:
    return stream.isatty()


class Progress:
    """`with Progress("deleting tasks", total) as p: ... p.advance(n)`; total may be unknown."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None,
                 live: bool | None = None, every: float = 0.2) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self.live = _live(self.stream) if live is None else live
        self.every, self.started, self.drawn = every, time.monotonic(), 0.0

    def __enter__(self) -> Progress:
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.live and now - self.drawn >= self.every:
            self.drawn = now
            self.stream.write(f"\r\033[K{self._text(now)}")
            self.stream.flush()

    def _text(self, now: float) -> str:
        took = max(now - self.started, 1e-9)
        of = f"/{self.total} ({100 * self.done // max(self.total, 1)}%)" if self.total else ""
        return f"{self.label}: {self.done}{of}, {self.done / took:.0f}/s, {took:.1f}s"

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        end = "" if kind is None else " (interrupted)"
        prefix = "\r\033[K" if self.live else ""
        self.stream.write(f"{prefix}{self._text(time.monotonic())}{end}\n")
        self.stream.flush()


class Stage:
    """`with Stage("loading models"):` around an await; a ticking elapsed time on a terminal,
    a start and an end line elsewhere. `write` puts other output above the ticking line."""

    def __init__(self, label: str, stream: TextIO | None = None, live: bool | None = None,
                 every: float = 1.0) -> None:
        self.label, self.stream, self.every = label, stream or sys.stderr, every
        self.live = _live(self.stream) if live is None else live
        self.started = time.monotonic()
        self.ticker: asyncio.Task[None] | None = None

    def _status(self) -> str:
        return f"{self.label}... {time.monotonic() - self.started:.0f}s"

    def write(self, text: str) -> None:
        self.stream.write(f"\r\033[K{text}{self._status()}" if self.live else text)
        self.stream.flush()

    async def _tick(self) -> None:
        while True:
            self.stream.write(f"\r\033[K{self._status()}")
            self.stream.flush()
            await asyncio.sleep(self.every)

    def __enter__(self) -> Stage:
        if self.live:
            self.ticker = asyncio.get_running_loop().create_task(self._tick())
        else:
            self.stream.write(f"{self.label}...\n")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
        with contextlib.suppress(ValueError):  # the stream was closed under us
            outcome = "done" if kind is None else "stopped"
            took = time.monotonic() - self.started
            prefix = "\r\033[K" if self.live else ""
            self.stream.write(f"{prefix}{self.label}: {outcome} in {took:.1f}s\n")
            self.stream.flush()
