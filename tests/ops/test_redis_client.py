"""The Redis client of every process (shared/redis.py): commands packed by hiredis exactly as
redis-py packs them, values that come back as they went in, the same pool checks as redis-py's
at less cost, and writes that stay cancellable (real server).

These tests lean on the internals shared/redis.py uses (redis-py's connection and hiredis
parser, asyncio's StreamReader buffer); an upgrade that changes them fails here.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.exceptions import DataError

from shared.redis import connect
from shared.settings import Settings

ARGS = ("EVALSHA", "abc", 2, -7, 1.5, 0.1, 1e20, "é ü", b"\x00\xff", "x" * 70_000, "")


def _python_packed(*args: object) -> bytes:
    return b"".join(Connection().pack_command(*args))  # type: ignore[arg-type]


async def test_commands_are_packed_as_redis_py_packs_them(settings: Settings) -> None:
    redis = connect(settings)
    try:
        conn = redis.connection_pool.make_connection()
        assert b"".join(conn.pack_command(*ARGS)) == _python_packed(*ARGS)
        assert b"".join(conn.pack_command("SET", memoryview(b"k"), "v")) == \
            _python_packed("SET", memoryview(b"k"), "v")  # hiredis refuses it: redis-py packs
        for bad in (None, True, [1]):
            with pytest.raises(DataError):
                conn.pack_command("SET", "k", bad)
    finally:
        await redis.aclose()


async def test_values_come_back_as_they_went_in(settings: Settings) -> None:
    redis = connect(settings)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for i, value in enumerate(ARGS):
                pipe.set(f"v:{i}", value)
            await pipe.execute()
        for i, value in enumerate(ARGS):
            text = repr(value) if isinstance(value, float) else str(value)
            want = value if isinstance(value, bytes) else text.encode()
            assert await redis.get(f"v:{i}") == want
    finally:
        await redis.aclose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Redis]:
    redis = connect(settings)
    yield redis
    await redis.aclose()


async def test_replies_still_arrive_after_large_and_pipelined_writes(client: Redis) -> None:
    big = b"x" * (2 * 1024 * 1024)  # past the transport's high-water mark: the timed write
    assert await client.set("big", big)
    assert await client.get("big") == big
    async with client.pipeline(transaction=True) as pipe:
        pipe.set("a", 1).incr("a").get("a")
        assert await pipe.execute() == [True, 2, b"2"]


async def test_idle_check_answers_without_waiting(client: Redis) -> None:
    await client.ping()
    conn = client.connection_pool.get_available_connection()
    try:
        ran = asyncio.Event()
        asyncio.get_running_loop().call_soon(ran.set)
        assert await conn.can_read_destructive() is False
        assert not ran.is_set()  # answered without giving the loop a turn
    finally:
        await client.connection_pool.release(conn)


async def test_unread_data_is_still_found(client: Redis) -> None:
    await client.ping()
    conn = client.connection_pool.get_available_connection()
    try:
        await conn.send_command("PING")  # its reply is never read
        await asyncio.sleep(0.1)
        assert await conn.can_read_destructive() is True
    finally:
        await conn.disconnect()
        await client.connection_pool.release(conn)


async def test_a_connection_the_server_closed_is_replaced(client: Redis, redis: Redis) -> None:
    first = await client.client_id()
    await redis.client_kill_filter(_id=first)
    await asyncio.sleep(0.1)
    assert await client.ping()  # the pool found the end of stream and reconnected
    assert await client.client_id() != first


async def test_idle_connections_are_handed_out_without_waiting(client: Redis) -> None:
    """A pool whose lock a connect held (it awaits then) hands idle connections out at once;
    redis-py's fair lock queued every later checkout a loop turn behind the waiters."""
    await asyncio.gather(*(client.ping() for _ in range(4)))  # four idle connections
    pool = client.connection_pool
    async with pool._lock:  # as while another checkout connects
        got = await asyncio.wait_for(pool.get_connection(), 1.0)
        assert got.is_connected
        await pool.release(got)
    assert await asyncio.gather(*(client.incr("n") for _ in range(50))) == list(range(1, 51))


async def test_a_disconnected_idle_connection_is_connected_again(client: Redis) -> None:
    await client.ping()
    conn = client.connection_pool.get_available_connection()
    await client.connection_pool.release(conn)
    await conn.disconnect()  # not connected: the pool's locked path connects it
    assert await client.ping()
    assert conn.is_connected


async def test_cancelled_writers_stop(client: Redis) -> None:
    """CPython gh-86296: under asyncio.wait_for a cancel that lands as a write completes was
    lost (29 of 300 here with redis-py's own writes); every cancelled loop must stop."""
    async def writes() -> None:
        n = 0
        while True:
            n += 1
            await client.zadd("cancel:z", {str(n % 50): n})

    lost = 0
    for _ in range(300):
        task = asyncio.create_task(writes())
        await asyncio.sleep(random.uniform(0, 0.003))
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=1.0)
        if not done:
            lost += 1
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
    assert lost == 0
