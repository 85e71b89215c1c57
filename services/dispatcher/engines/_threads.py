"""In-thread engines that can be stopped.

`run_in_thread` runs an engine function in a thread: the function gets a `threading.Event` and a
progress callback; when the dispatcher cancels the coroutine, the event is set and the coroutine
waits for the thread to notice it, so no work continues after a cancel and the engine's
concurrency slot is only freed once the thread is done. `map_steps` is the loop most engine
functions run: one item at a time, the event checked between items.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from services.dispatcher.provider_interface import Engine, ProviderContext, ProviderError

T = TypeVar("T")
R = TypeVar("R")
Report = Callable[[float], None]
"""Progress callback handed to an engine thread (fraction in 0..1)."""


class Stopped(Exception):
    """Raised inside an engine thread when its stop event was set."""


def map_steps(fn: Callable[[T], R], items: Sequence[T], stop: threading.Event,
              report: Report) -> list[R]:
    """`fn` of each item in order; raises Stopped before an item once `stop` is set and reports
    the share of items done after each."""
    out: list[R] = []
    for done, item in enumerate(items, start=1):
        if stop.is_set():
            raise Stopped
        out.append(fn(item))
        report(done / len(items))
    return out


@dataclass
class _Progress:
    """Latest progress reported from a thread, forwarded to the context by the coroutine."""

    loop: asyncio.AbstractEventLoop
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    value: float | None = None

    def report(self, fraction: float) -> None:
        self.value = max(0.0, min(1.0, fraction))
        try:
            self.loop.call_soon_threadsafe(self.wake.set)
        except RuntimeError:  # loop closed: nobody is listening any more
            pass


async def run_in_thread(engine: Engine, ctx: ProviderContext,
                        fn: Callable[[threading.Event, Report], T]) -> T:
    """Run `fn(stop, report)` via `engine.run`; forward progress; stop it on cancellation."""
    stop = threading.Event()
    progress = _Progress(asyncio.get_running_loop())
    work: asyncio.Future[T] = asyncio.ensure_future(engine.run(fn, stop, progress.report))
    work.add_done_callback(lambda _: progress.wake.set())
    try:
        while not work.done():
            await progress.wake.wait()
            progress.wake.clear()
            if progress.value is not None and not work.done():
                value, progress.value = progress.value, None
                await ctx.progress(value)
        return _result(work)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait({work})  # the thread checks `stop` between segments/tokens
        raise


def _result(work: asyncio.Future[T]) -> T:
    """The thread's result, with third-party errors wrapped at the provider boundary."""
    try:
        return work.result()
    except ProviderError:
        raise
    except Exception as exc:
        raise ProviderError(f"engine failed: {exc!r}", "The engine failed on this input.") from exc
