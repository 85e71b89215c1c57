"""Typed application state of the api (and the fileproxy, which shares it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from shared.accounts import ExAppStore, UserStore
from shared.auth import Authenticator
from shared.filestore import FileStore
from shared.keys import Keys
from shared.ratelimit import RateLimiter
from shared.redis import connect
from shared.registry import ProviderRegistry
from shared.settings import Settings
from shared.store import TaskStore


@dataclass
class Services:
    """Everything a handler needs, built once per process."""

    settings: Settings
    redis: Redis
    keys: Keys
    tasks: TaskStore
    registry: ProviderRegistry
    users: UserStore
    exapps: ExAppStore
    limiter: RateLimiter
    auth: Authenticator
    files: FileStore

    @classmethod
    def build(cls, settings: Settings, redis: Redis | None = None) -> Services:
        redis = redis or connect(settings)
        keys = Keys(settings.key_prefix)
        users, exapps = UserStore(redis, keys), ExAppStore(redis, keys)
        limiter = RateLimiter(redis, keys.rate_limit_prefix, settings.rate_limits)
        return cls(settings, redis, keys, TaskStore(redis, keys),
                   ProviderRegistry(redis, keys, settings.provider_preferences,
                                    settings.tasktypes_cache_seconds),
                   users, exapps, limiter,
                   Authenticator(users, exapps, limiter, settings.auth_cache_seconds),
                   FileStore(settings.files_dir, redis, keys, settings.upload_ttl_seconds))


SERVICES = web.AppKey("services", Services)
SETTINGS = web.AppKey("settings", Settings)


async def services_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open Redis and the stores when the app starts; close them when it stops."""
    services = Services.build(app[SETTINGS])
    app[SERVICES] = services
    yield
    await services.redis.aclose()
