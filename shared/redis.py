"""Redis connections from settings (a URL, or a Sentinel-managed primary), and how a process
tells and reports that Redis is unreachable.

Every call has a timeout (`redis_socket_timeout`, `redis_connect_timeout`); pub/sub readers
use `messages()`, which waits in short steps instead of relying on the socket timeout.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from redis import exceptions as rx
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import Connection, parse_url
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection
from redis.connection import HiredisRespSerializer
from redis.utils import HIREDIS_AVAILABLE

from shared.settings import Settings

REDIS_DOWN: tuple[type[BaseException], ...] = (
    rx.ConnectionError, rx.TimeoutError, rx.ReadOnlyError, rx.TryAgainError)
"""What a call raises while Redis is unreachable, stalled, loading its data after a restart
(BusyLoadingError is a ConnectionError), or a demoted primary during a failover (READONLY).
redis-py wraps socket errors in these; a bare OSError is someone else's (a disk, a peer)."""


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
    """A client for the primary, with the settings' timeouts (the one blocking command, the
    dispatcher's handoff BLPOP, waits for less than half the socket timeout; pub/sub reads go
    through `messages()`)."""
    timeouts = {"socket_timeout": settings.redis_socket_timeout,
                "socket_connect_timeout": settings.redis_connect_timeout}
    kwargs = {**timeouts, **kwargs}
    if settings.redis_sentinels:
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            _sentinel_hosts(settings),
            sentinel_kwargs={"password": settings.redis_sentinel_password, **timeouts},
            **_url_auth(settings.redis_url))
        client: Redis = sentinel.master_for(
            settings.redis_sentinel_master, redis_class=redis_class,
            connection_pool_class=_SentinelPool,
            connection_class=_safe(SentinelManagedConnection), **kwargs)
        return client
    base = parse_url(settings.redis_url).get("connection_class", Connection)
    plain: Redis = redis_class.from_url(settings.redis_url, connection_class=_safe(base),
                                        **kwargs)
    return plain


class _CancellableWrite:
    """Writes under `asyncio.timeout` instead of redis-py's `asyncio.wait_for`, which on Python
    3.11 loses a cancellation that arrives as the write completes (CPython gh-86296): a
    cancelled task then carried on, so a dispatcher's loops and arq's poll loop did not stop.
    Reads already use `asyncio.timeout`."""

    socket_timeout: float | None

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        timeout, self.socket_timeout = self.socket_timeout, None
        try:
            async with asyncio.timeout(timeout) as cm:
                await super().send_packed_command(command, check_health)  # type: ignore[misc]
        except TimeoutError:
            if not cm.expired():
                raise
            await self.disconnect(nowait=True)  # type: ignore[attr-defined]
            raise rx.TimeoutError("Timeout writing to socket") from None
        finally:
            self.socket_timeout = timeout


class _HiredisPack:
    """Commands packed by hiredis in C, as redis-py's synchronous client does when hiredis is
    installed; its asyncio client packs in Python, one encode per argument, which was a third
    of the client's time for a schedule (about 30 arguments). What hiredis does not take (a
    memoryview) is packed by redis-py as before, which also refuses what neither takes."""

    _packer = HiredisRespSerializer()

    def pack_command(self, *args: Any) -> list[bytes]:
        try:
            return self._packer.pack(*args)  # type: ignore[no-any-return]
        except rx.DataError:
            return super().pack_command(*args)  # type: ignore[misc,no-any-return]


_MIXINS = ((_HiredisPack,) if HIREDIS_AVAILABLE else ()) + \
    ((_CancellableWrite,) if sys.version_info < (3, 12) else ())
_CLASSES: dict[type[Any], type[Any]] = {}


def _safe(base: type[Any]) -> type[Any]:
    """`base` (a redis-py connection class) with hiredis packing and, on Pythons that need
    them, cancellable writes."""
    if not _MIXINS:
        return base
    if base not in _CLASSES:
        _CLASSES[base] = type(f"Taskproc{base.__name__}", (*_MIXINS, base), {})
    return _CLASSES[base]


def _url_auth(url: str) -> dict[str, Any]:
    """Password and db of the primary, taken from redis_url when Sentinel is used."""
    parsed = parse_url(url)
    return {k: parsed[k] for k in ("password", "username", "db") if parsed.get(k) is not None}


async def messages(ps: PubSub, step: float = 1.0) -> AsyncIterator[dict[str, Any]]:
    """The messages of a subscribed PubSub, read in `step`-second waits (a quiet channel is
    not an error, whatever the socket timeout); a lost connection raises."""
    while True:
        msg = await ps.get_message(ignore_subscribe_messages=True, timeout=step)
        if msg is not None:
            yield msg


class Outage:
    """One log line when Redis stops answering, one when it answers again, none in between."""

    def __init__(self, what: str, logger: logging.Logger,
                 then: str = "retrying with backoff") -> None:
        self.what, self.log, self.then = what, logger, then
        self.since: float | None = None
        self.failures = 0

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> bool:
        """Note a failed call; True for the first of an outage (it was logged)."""
        self.failures += 1
        if self.since is not None:
            return False
        self.since, self.failures = time.monotonic(), 1
        self.log.warning("%s: Redis unreachable (%s: %s); %s", self.what,
                         type(exc).__name__, exc, self.then)
        return True

    def recovered(self) -> None:
        if self.since is not None:
            self.log.warning("%s: Redis reachable again after %.1f s (%d failed calls)",
                             self.what, time.monotonic() - self.since, self.failures)
            self.since = None


class Backoff:
    """Exponential waits with full jitter between `first` and `cap` seconds."""

    def __init__(self, first: float = 0.05, cap: float = 2.0) -> None:
        self.first, self.cap, self.n = first, cap, 0

    def next(self) -> float:
        self.n += 1
        return random.uniform(0, min(self.cap, self.first * 2 ** self.n))

    def reset(self) -> None:
        self.n = 0


async def wait_until_up(redis: Redis, stop: Callable[[], bool] = lambda: False,
                        backoff: Backoff | None = None) -> bool:
    """PING with backoff until Redis answers (True) or `stop()` says give up (False)."""
    backoff = backoff or Backoff()
    while not stop():
        try:
            await redis.ping()
            return True
        except REDIS_DOWN:
            await asyncio.sleep(backoff.next())
    return False
