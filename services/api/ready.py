"""Wake-ups for long-polling providers: one subscription to `{p}:chan:ready` per api process.

The schedule, requeue and release scripts publish a task's type on the ready channel. A
`tasks_provider/next?wait=` request registers interest in its types before it looks for work,
so a task that arrives while it waits is claimed at once; a 1 s re-check covers a message lost
to a Redis reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from redis.asyncio import Redis

from shared.http.context import SERVICES
from shared.pubsub import listen_forever
from shared.redis import REDIS_DOWN

RECHECK_SECONDS = 1.0
"""Longest a waiter sleeps without looking at the queue again."""


class ReadyHub:
    """Fans `{p}:chan:ready` messages out to the waiters interested in each task type."""

    def __init__(self, redis: Redis, channel: str,
                 on_redis_down: Callable[[BaseException], None] = lambda exc: None) -> None:
        self.redis = redis
        self.channel = channel
        self.on_redis_down = on_redis_down
        """Told when the subscription fails because Redis is away (the process logs it once)."""
        self._waiters: dict[asyncio.Event, frozenset[str]] = {}
        self._subscribed = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def watch(self, task_types: set[str]) -> AsyncIterator[asyncio.Event]:
        """An event set whenever a task of one of these types becomes claimable."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())
        event = asyncio.Event()
        self._waiters[event] = frozenset(task_types)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RECHECK_SECONDS):
                    await self._subscribed.wait()
            yield event
        finally:
            self._waiters.pop(event, None)

    def update(self, event: asyncio.Event, task_types: set[str]) -> None:
        """Change the types a waiter listens for (the preferred providers changed)."""
        if event in self._waiters:
            self._waiters[event] = frozenset(task_types)

    def _wake(self, task_type: str | None) -> None:
        for event, types in list(self._waiters.items()):
            if task_type is None or task_type in types:
                event.set()

    async def _listen(self) -> None:
        def subscribed() -> None:
            self._subscribed.set()
            self._wake(None)  # anything published before (re)subscribing
        def lost(exc: BaseException) -> None:
            self._subscribed.clear()
            if isinstance(exc, REDIS_DOWN):
                self.on_redis_down(exc)
        await listen_forever(self.redis, [self.channel], lambda _, task_type: self._wake(task_type),
                             subscribed, lost)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None


READY = web.AppKey("ready_hub", ReadyHub)


async def ready_ctx(app: web.Application) -> AsyncIterator[None]:
    """The hub lives as long as the app (after the services it uses)."""
    services = app[SERVICES]
    hub = ReadyHub(services.redis, services.keys.chan_ready, services.outage.failed)
    app[READY] = hub
    yield
    await hub.close()
