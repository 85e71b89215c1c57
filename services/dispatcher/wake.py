"""An arq worker that wakes on enqueue instead of polling (deps.md §1.8).

Producers publish on `{p}:chan:wake` after queueing a job (the schedule script does it). The
worker waits on an event set by that channel, with a fallback poll for deferred jobs and lost
messages, and refills a freed slot at once.

arq keeps running jobs in its queue and, for every id it reads, spends about three round trips
(WATCH, EXISTS, ZSCORE) before finding one already in progress (deps.md finding 5). Since every
enqueue wakes every dispatcher, that cost would grow with the number of running tasks; the
worker first drops running ids with one pipelined EXISTS.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from arq.constants import in_progress_key_prefix
from arq.worker import Worker


class WakeWorker(Worker):
    """arq 0.28 worker, run with poll_delay=0; `wake()` starts the next iteration now."""

    def __init__(self, *args: Any, fallback_poll: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, poll_delay=0, **kwargs)
        self._wake_event = asyncio.Event()
        self._fallback = fallback_poll
        self._stopping = False

    def wake(self) -> None:
        self._wake_event.set()

    def stop_polling(self) -> None:
        """Leave the poll loop at its next safe point (not in the middle of a Redis call).

        Cancelling arq's main task mid-pipeline can leave a WATCHed connection unreleased.
        """
        self._stopping = True
        self._wake_event.set()

    async def _poll_iteration(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._fallback):
                await self._wake_event.wait()
        if self._stopping:
            raise asyncio.CancelledError  # ends main(); DispatcherProcess.run treats it as a stop
        self._wake_event.clear()  # clear before reading the queue: a wake during it is kept
        await super()._poll_iteration()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """Start the jobs no worker is running yet (arq's own claim still guards each one)."""
        if not job_ids:
            return
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.exists(in_progress_key_prefix + job_id.decode())
            running = await pipe.execute()
        await super().start_jobs([j for j, busy in zip(job_ids, running, strict=True)
                                  if not busy])

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        self._wake_event.set()
