"""Redis connections from settings: a URL, or a Sentinel-managed primary."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from shared.settings import Settings


class _SentinelPool(SentinelConnectionPool):
    """Closing the primary's pool also closes the connections to the sentinels."""

    async def disconnect(self, inuse_connections: bool = True) -> None:
        await super().disconnect(inuse_connections)
        for client in self.sentinel_manager.sentinels:
            await client.connection_pool.disconnect()


def _sentinel_hosts(settings: Settings) -> list[tuple[str, int]]:
    hosts = []
    for item in settings.redis_sentinels:
        host, _, port = item.rpartition(":")
        hosts.append((host or item, int(port or 26379)))
    return hosts


def connect(settings: Settings, *, redis_class: type[Redis] = Redis, **kwargs: Any) -> Redis:
    """A client for the primary. No socket timeout: blocking commands and pub/sub need none."""
    if settings.redis_sentinels:
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            _sentinel_hosts(settings),
            sentinel_kwargs={"password": settings.redis_sentinel_password},
            **_url_auth(settings.redis_url))
        client: Redis = sentinel.master_for(settings.redis_sentinel_master,
                                            redis_class=redis_class,
                                            connection_pool_class=_SentinelPool, **kwargs)
        return client
    plain: Redis = redis_class.from_url(settings.redis_url, **kwargs)
    return plain


def _url_auth(url: str) -> dict[str, Any]:
    """Password and db of the primary, taken from redis_url when Sentinel is used."""
    from redis.connection import parse_url

    parsed = parse_url(url)  # type: ignore[no-untyped-call]
    return {k: parsed[k] for k in ("password", "username", "db") if parsed.get(k) is not None}
