"""Typed application state of the HTTP roles (api and fileproxy): the stores plus auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, fields

from aiohttp import web
from redis.asyncio import Redis

from shared.http.auth import Authenticator
from shared.http.ratelimit import RateLimiter
from shared.http.unavailable import RedisOutage
from shared.settings import Settings
from shared.stores import Stores


@dataclass
class Services(Stores):
    """Everything a handler needs, built once per process."""

    limiter: RateLimiter
    auth: Authenticator
    outage: RedisOutage

    @classmethod
    def build(cls, settings: Settings, redis: Redis | None = None) -> Services:
        stores = Stores.build(settings, redis)
        limiter = RateLimiter(stores.redis, stores.keys.rate_limit_prefix, settings.rate_limits)
        auth = Authenticator(stores.users, stores.exapps, limiter, settings.auth_cache_seconds)
        return cls(**{f.name: getattr(stores, f.name) for f in fields(Stores)},
                   limiter=limiter, auth=auth,
                   outage=RedisOutage(stores.redis, settings.redis_retry_after_seconds))


SERVICES = web.AppKey("services", Services)
SETTINGS = web.AppKey("settings", Settings)


async def services_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open Redis and the stores when the app starts; close them when it stops."""
    services = Services.build(app[SETTINGS])
    app[SERVICES] = services
    yield
    await services.outage.close()
    await services.redis.aclose()
