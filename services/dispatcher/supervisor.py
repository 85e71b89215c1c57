"""Keep the arq worker running through Redis outages (upstream python-arq/arq#435).

arq's poll loop ends at the first Redis error, so a restart, a blip, a Sentinel failover or a
Redis that is not up yet would end the dispatcher. `supervise()` runs the worker, and when it
stops on a Redis error waits for Redis with backoff and runs it again: running jobs keep their
slots (they live in the worker, not in its poll loop), queued jobs are read again, and
`/readyz` says "redis unavailable" meanwhile. A stop request (signal or `stop_polling()`) ends
the wait.
"""

from __future__ import annotations

import asyncio
import logging

from services.dispatcher.jobs import JobWorker
from shared.redis import REDIS_DOWN, Backoff, Outage, wait_until_up

log = logging.getLogger(__name__)


async def supervise(worker: JobWorker, outage: Outage | None = None,
                    backoff: Backoff | None = None) -> None:
    """Run `worker` until it stops for a reason other than Redis; `outage` logs (once) when
    Redis goes and comes back, and says meanwhile that it is down."""
    outage = outage or Outage("dispatcher", log)
    backoff = backoff or Backoff(first=0.1, cap=2.0)
    while True:
        try:
            await worker.async_run()
            return
        except REDIS_DOWN as exc:
            if worker.stopping:
                return
            outage.failed(exc)
        if not await wait_until_up(worker.pool, lambda: worker.stopping, backoff):
            await _let_jobs_finish(worker)
            return
        outage.recovered()
        backoff.reset()


async def _let_jobs_finish(worker: JobWorker) -> None:
    """Stopped during an outage: give running jobs the shutdown grace, as arq would."""
    running = [t for t in worker.tasks.values() if not t.done()]
    if running:
        await asyncio.wait(running, timeout=worker._job_completion_wait or None)
