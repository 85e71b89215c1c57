"""Helpers shared by the local engine providers.

`require` turns a missing Python package, `require_binary` a missing binary and `require_listed`
a binary without its data into `ProviderUnavailable` with a reason the dispatcher logs at
start-up. `run_in_thread` runs an in-thread engine that can be stopped: the engine function gets
a `threading.Event` and a progress callback; when the dispatcher cancels the coroutine, the event
is set and the coroutine waits for the thread to notice it, so no work continues after a cancel
and the engine's concurrency slot is only freed once the thread is done.
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import subprocess
import threading
from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

from services.dispatcher.provider_interface import (
    Engine,
    ProviderContext,
    ProviderError,
    ProviderUnavailable,
)
from shared.shapes import Shape, ShapeMap, ShapeType

T = TypeVar("T")
Found = TypeVar("Found", bound=Sized)
Report = Callable[[float], None]
"""Progress callback handed to an engine thread (fraction in 0..1)."""


class Stopped(Exception):
    """Raised inside an engine thread when its stop event was set."""


def require(module: str, package: str | None = None) -> ModuleType:
    """Import `module` or raise ProviderUnavailable naming the pip package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ProviderUnavailable(f"{package or module} not installed") from exc


def require_binary(name: str, package: str | None = None) -> str:
    """The full path of a binary on PATH, or ProviderUnavailable naming the Debian package."""
    path = shutil.which(name)
    if path is None:
        raise ProviderUnavailable(f"{name} not found on PATH (apt-get install {package or name})")
    return path


def require_listed(name: str, listing: Callable[[str], Found], data: str,
                   packages: str) -> tuple[str, Found]:
    """A Debian CLI engine's path and what `listing(path)` finds installed, or ProviderUnavailable.

    `packages` names the engine's Debian package, then the data package it needs at least one of;
    `data` says what the listing finds ("language data").
    """
    binary = require_binary(name, packages)
    found = listing(binary)
    if not found:
        raise ProviderUnavailable(f"{name} has no {data} (apt-get install {packages.split()[-1]})")
    return binary, found


def cli_lines(binary: str, flag: str) -> list[str]:
    """The stripped, non-empty lines that `binary flag` prints (a listing: `apertium -l`)."""
    out = subprocess.run([binary, flag], capture_output=True, text=True, timeout=30,
                         check=False).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def provider_id(task_type: str, engine: str) -> str:
    """`taskproc:<kind>:<engine>`, the kind being the task type's last part (`summary`, `ocr`)."""
    return f"taskproc:{task_type.rsplit(':', 1)[-1]}:{engine}"


def text_input(inputs: dict[str, Any], slot: str = "input") -> str:
    """A text input slot, checked to be a non-empty string."""
    value = inputs.get(slot)
    if not isinstance(value, str) or not value.strip():
        raise ProviderError(f"input {slot!r} is empty", f"The input {slot!r} must not be empty.")
    return value


def enum_option(name: str, description: str) -> ShapeMap:
    """An optional Enum input slot map with one slot."""
    return {name: Shape(name.replace("_", " ").capitalize(), description, ShapeType.Enum)}


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
