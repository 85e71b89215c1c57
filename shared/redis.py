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
from redis._parsers import _AsyncHiredisParser
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import Connection, ConnectionPool, SSLConnection, parse_url
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection
from redis.connection import HiredisRespSerializer
from redis.utils import HIREDIS_AVAILABLE

from shared.settings import Settings

REDIS_DOWN: tuple[type[BaseException], ...] = (
    rx.ConnectionError, rx.TimeoutError, rx.ReadOnlyError, rx.TryAgainError)
"""What a call raises while Redis is unreachable, stalled, loading its data after a restart
(BusyLoadingError is a ConnectionError), or a demoted primary during a failover (READONLY).
redis-py wraps socket errors in these; a bare OSError is someone else's (a disk, a peer)."""


class _ReadyFirst:
    """A pool that hands out an idle connection with nothing to read at once.

    redis-py's pool takes an asyncio.Lock around every checkout, which only matters while a
    checkout connects (it awaits then). asyncio's lock is fair: once one task waited for it, each
    later checkout queued behind the waiters a loop turn at a time, and under steady load the
    queue never drained. A connected, idle connection is taken without the lock: what the locked
    path does with it (pop it, see it is connected, see nothing to read) in one step; every
    other checkout (a new connection, a reconnect, data left unread) takes the locked path."""

    _available_connections: list[Any]
    _in_use_connections: set[Any]

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if self._available_connections:
            connection = self._available_connections[-1]
            if connection.is_connected and _nothing_to_read(connection._parser,
                                                            connection._reader):
                self._available_connections.pop()
                self._in_use_connections.add(connection)
                return connection
        return await super().get_connection(*args, **kwargs)  # type: ignore[misc]


class _Pool(_ReadyFirst, ConnectionPool):
    """The pool of a client built from a redis:// URL."""


class _SentinelPool(_ReadyFirst, SentinelConnectionPool):
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
    pool = _Pool.from_url(settings.redis_url, connection_class=_safe(base), **kwargs)
    plain: Redis = redis_class.from_pool(pool)
    return plain


class _CancellableWrite:
    """Writes under `asyncio.timeout` instead of redis-py's `asyncio.wait_for`, which on Python
    3.11 loses a cancellation that arrives as the write completes (CPython gh-86296): a
    cancelled task then carried on, so a dispatcher's loops and arq's poll loop did not stop.
    Reads already use `asyncio.timeout`.

    A write that cannot wait needs no timer: on a connected plain socket with an empty send
    buffer, a command that fits under the buffer's high-water mark leaves the transport
    unpaused, so `drain()` returns at once (it yields once at most, to a transport closing).
    Such writes, nearly all of them, skip the timer; a connect, a health check, TLS or a fuller
    buffer keep it."""

    socket_timeout: float | None
    health_check_interval: float
    _writer: asyncio.StreamWriter | None
    _reader: asyncio.StreamReader | None
    _tls: bool = False

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        timeout, self.socket_timeout = self.socket_timeout, None
        try:
            if timeout is None or self._cannot_wait(command, check_health):
                await super().send_packed_command(command, check_health)  # type: ignore[misc]
            else:
                await self._send_timed(command, check_health, timeout)
        finally:
            self.socket_timeout = timeout

    async def _send_timed(self, command: Any, check_health: bool, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout) as cm:
                await super().send_packed_command(command, check_health)  # type: ignore[misc]
        except TimeoutError:
            if not cm.expired():
                raise
            await self.disconnect(nowait=True)  # type: ignore[attr-defined]
            raise rx.TimeoutError("Timeout writing to socket") from None

    def _cannot_wait(self, command: Any, check_health: bool) -> bool:
        if (self._tls or self._writer is None or self._reader is None
                or (check_health and self.health_check_interval)):
            return False
        size = _size(command)
        transport = self._writer.transport
        return (size is not None and transport.get_write_buffer_size() == 0
                and size < transport.get_write_buffer_limits()[1])


def _size(command: Any) -> int | None:
    """Bytes of a packed command (None: not a form measured here)."""
    if isinstance(command, bytes):
        return len(command)
    if isinstance(command, list) and all(isinstance(c, (bytes, memoryview)) for c in command):
        return sum(len(c) if isinstance(c, bytes) else c.nbytes for c in command)
    return None


class _IdleCheck:
    """The pool's check that an idle connection has nothing left to read answers at once when
    nothing is buffered, instead of reading under a zero timeout that always expires a loop
    turn later (redis-py's, with the pool's lock held meanwhile). Buffered data, an end of
    stream or a connection error still take redis-py's own check."""

    _parser: Any
    _reader: asyncio.StreamReader | None

    async def can_read_destructive(self) -> bool:
        if _nothing_to_read(self._parser, self._reader):
            return False
        answer: bool = await super().can_read_destructive()  # type: ignore[misc]
        return answer


def _nothing_to_read(parser: Any, stream: asyncio.StreamReader | None) -> bool:
    """True when a read would only wait: hiredis holds no reply bytes and the socket's stream
    has no data, no end and no error (then redis-py's check answers False a loop later)."""
    if not isinstance(parser, _AsyncHiredisParser) or not parser._connected or stream is None:
        return False
    replies: Any = parser._reader  # hiredis.Reader
    unread: bytearray = stream._buffer  # type: ignore[attr-defined]
    return not replies.has_data() and not unread and not stream.at_eof() \
        and stream.exception() is None


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


_MIXINS = ((_HiredisPack, _IdleCheck) if HIREDIS_AVAILABLE else ()) + \
    ((_CancellableWrite,) if sys.version_info < (3, 12) else ())
_CLASSES: dict[type[Any], type[Any]] = {}


def _safe(base: type[Any]) -> type[Any]:
    """`base` (a redis-py connection class) with hiredis packing and the quick idle check
    and, on Pythons that need them, cancellable writes."""
    if not _MIXINS:
        return base
    if base not in _CLASSES:
        _CLASSES[base] = type(f"Taskproc{base.__name__}", (*_MIXINS, base),
                              {"_tls": issubclass(base, SSLConnection)})
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
