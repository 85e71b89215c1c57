"""While Redis is unreachable the api and fileproxy answer 503 with Retry-After, not 500.

The body is Nextcloud's maintenance-mode answer (HTTP 503 on v1 and v2, OCS status 503,
"Service unavailable"). The process logs one line when Redis stops answering and one when a
background PING finds it back, never a traceback per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from shared.http import ocs
from shared.redis import Backoff, Outage, wait_until_up

log = logging.getLogger(__name__)

MESSAGE = "Service unavailable"


class RedisOutage:
    """The outage state of one process, and the 503 it answers meanwhile."""

    def __init__(self, redis: Redis, retry_after: int) -> None:
        self.redis = redis
        self.retry_after = retry_after
        self.outage = Outage("requests", log, then="answering 503 until it is back")
        self._watch: asyncio.Task[None] | None = None

    def failed(self, exc: BaseException) -> None:
        """A request failed on Redis: note it, and watch for Redis' return (once)."""
        self.outage.failed(exc)
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._until_back())

    async def _until_back(self) -> None:
        if await wait_until_up(self.redis, backoff=Backoff(first=0.1, cap=2.0)):
            self.outage.recovered()

    def response(self, request: web.Request, params: dict[str, Any]) -> web.Response:
        resp = ocs.render(request, 503, [], message=MESSAGE, params=params,
                          headers={"Retry-After": str(self.retry_after)})
        resp.set_status(503)  # also on v1, as Nextcloud in maintenance mode
        return resp

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
