"""Rate limits on the shared Redis with the `limits` library (moving window).

Caps hold across every api process because the windows live in Redis. Timestamps are the
gateways' clocks (a property of limits' moving window): keep the hosts' clocks in sync.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis

from shared.errors import TooManyRequests
from shared.redis import REDIS_DOWN
from shared.settings import RateLimitSettings, SettingsInvalid

log = logging.getLogger(__name__)


def parse_caps(settings: RateLimitSettings) -> dict[str, RateLimitItem | None]:
    """Each named cap as `limits` reads it (None: off); a value it cannot read is
    SettingsInvalid naming its variable (the roles check this before they listen)."""
    caps: dict[str, RateLimitItem | None] = {}
    for name, value in settings.model_dump().items():
        if not isinstance(value, str):
            continue
        try:
            caps[name] = parse(value) if value else None
        except ValueError:
            raise SettingsInvalid(f"TASKPROC_RATE_LIMITS__{name.upper()}: {value!r} is not a "
                                  "rate limit such as '20/2 minutes' or '5 per minute'") from None
    return caps


class RateLimiter:
    """Named caps from RateLimitSettings (an empty value switches a cap off)."""

    def __init__(self, redis: Redis, key_prefix: str, settings: RateLimitSettings) -> None:
        storage = RedisStorage("async+redis://", implementation="redispy", key_prefix=key_prefix,
                               wrap_exceptions=True,
                               connection_pool=redis.connection_pool)  # type: ignore[arg-type]
        self.limiter = MovingWindowRateLimiter(storage)
        self.fail_open = settings.fail_open
        self.items = parse_caps(settings)

    def _item(self, name: str) -> RateLimitItem | None:
        return self.items.get(name)

    async def hit(self, name: str, ident: str) -> bool:
        """Count one request; False when over the cap."""
        return await self._ask(self.limiter.hit, name, ident)

    async def test(self, name: str, ident: str) -> bool:
        """Whether a request would be allowed, without counting it."""
        return await self._ask(self.limiter.test, name, ident)

    async def _ask(self, op: Callable[..., Awaitable[bool]], name: str, ident: str) -> bool:
        item = self._item(name)
        if item is None:
            return True
        try:
            return await op(item, name, ident)
        except StorageError as exc:
            if isinstance(exc.storage_error, REDIS_DOWN):
                raise exc.storage_error from None  # Redis is away: the request gets a 503
            log.exception("rate limiter storage failed")
            return self.fail_open

    async def headers(self, name: str, ident: str) -> dict[str, str]:
        item = self._item(name)
        if item is None:
            return {}
        try:
            stats = await self.limiter.get_window_stats(item, name, ident)
        except StorageError:
            return {}
        reset_in = max(0, math.ceil(stats.reset_time - time.time()))
        return {"X-RateLimit-Limit": str(item.amount),
                "X-RateLimit-Remaining": str(stats.remaining),
                "X-RateLimit-Reset": str(reset_in)}

    async def enforce(self, name: str, ident: str) -> dict[str, str]:
        """Count one request; raise TooManyRequests (with Retry-After) past the cap.

        Returns the X-RateLimit-* headers for the response.
        """
        allowed = await self.hit(name, ident)
        headers = await self.headers(name, ident)
        if not allowed:
            raise _refusal(headers, "Too many requests")
        return headers

    async def refusal(self, name: str, ident: str, message: str) -> TooManyRequests:
        """The 429 for a caller already past cap `name`, with Retry-After."""
        return _refusal(await self.headers(name, ident), message)


def _refusal(headers: dict[str, str], message: str) -> TooManyRequests:
    retry = max(1, int(headers.get("X-RateLimit-Reset", "1")))
    return TooManyRequests(message, headers=headers | {"Retry-After": str(retry)})
