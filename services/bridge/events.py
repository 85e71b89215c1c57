"""Task events (`{p}:chan:task`) fanned out to the coroutines waiting on one task each."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared.keys import Keys

log = logging.getLogger("taskproc.bridge")


class TaskEvents:
    """`wait(task_id, timeout)` returns early when the task's status changes."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys
        self._waiters: dict[int, asyncio.Event] = {}

    async def wait(self, task_id: int, timeout: float) -> None:
        event = self._waiters.setdefault(task_id, asyncio.Event())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            event.clear()

    def forget(self, task_id: int) -> None:
        self._waiters.pop(task_id, None)

    async def listen(self) -> None:
        """Run until cancelled; reconnects after a Redis outage (waiters poll meanwhile)."""
        delay = 0.2
        while True:
            try:
                async with self.redis.pubsub() as ps:
                    await ps.subscribe(self.keys.chan_task)
                    delay = 0.2
                    async for msg in ps.listen():
                        if msg.get("type") == "message":
                            self._wake(msg["data"])
            except (RedisError, OSError) as exc:
                log.debug("task events: %s; reconnecting", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _wake(self, data: bytes) -> None:
        head = data.split(b" ", 1)[0]
        if head.isdigit() and (event := self._waiters.get(int(head))) is not None:
            event.set()
