"""The provider interface of the dispatcher.

A provider is an object with a `spec` (a `shared.provider_spec.ProviderSpec`) and an async
`process(inputs, ctx)` that returns the output map. The dispatcher builds providers from
factories at start-up; a factory raises `ProviderUnavailable` with a reason when its engine is
not installed, and that provider is then simply not offered.

Cancellation: the dispatcher cancels the `process` coroutine when the task is cancelled or its
lease is lost. Providers must let `asyncio.CancelledError` propagate; use `run_process` for
subprocess engines (it kills the child) and `Engine.run` for CPU work off the event loop.

Output: text slots hold strings; file slots may hold `bytes`, a `pathlib.Path` (stored by the
dispatcher) or an int file id already written with `ctx.write_file`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from shared.errors import TaskProcError
from shared.provider_spec import ProviderSpec


class ProviderUnavailable(TaskProcError):
    """The provider's engine is not installed or not configured; the reason says which."""


class ProviderError(TaskProcError):
    """A provider failed; `user_message` is safe to show to the user."""

    def __init__(self, message: str, user_message: str | None = None) -> None:
        super().__init__(message)
        self.user_message = user_message


class InvalidOutput(TaskProcError):
    """A provider's output does not fit the task type's output shape; the task fails."""


class ProviderContext(Protocol):
    """What the dispatcher gives a provider while it works on one task."""

    task_id: int
    user_id: str | None
    include_watermark: bool

    async def progress(self, fraction: float) -> None:
        """Report progress in 0..1; raises CancelledError if the task was cancelled."""

    async def read_file(self, file_id: int) -> Path:
        """A local path to an input file of this task (read-only)."""

    async def write_file(self, data: bytes | Path, name: str = "output") -> int:
        """Store an output file and return its id for the output map."""


@runtime_checkable
class Provider(Protocol):
    """A task processing provider running inside the dispatcher."""

    spec: ProviderSpec

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        """Do the work; return the output map (slot -> value)."""



class Engine:
    """Runs blocking engine calls in threads, at most `concurrency` at a time per provider.

    A model object is loaded once per process with `load()`, under a lock, on first use.
    """

    def __init__(self, concurrency: int = 1) -> None:
        self._sem = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()
        self._model: Any = None

    async def model(self, loader: Callable[[], Any]) -> Any:
        if self._model is None:
            async with self._lock:
                if self._model is None:
                    self._model = await asyncio.to_thread(loader)
        return self._model

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        async with self._sem:
            return await asyncio.to_thread(fn, *args)


async def run_process(args: list[str], stdin: bytes | None = None,
                      timeout: float | None = None) -> bytes:
    """Run a subprocess engine; kill it at once if the task is cancelled.

    Returns stdout; raises ProviderError with stderr on a non-zero exit.
    """
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate(stdin)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        raise ProviderError(f"{args[0]} exited with {proc.returncode}: "
                            f"{err.decode(errors='replace')[-500:]}")
    return out
