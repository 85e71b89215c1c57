"""The Redis client of every process (shared/redis.py): commands packed by hiredis exactly as
redis-py packs them, and values that come back as they went in (real server)."""

from __future__ import annotations

import pytest
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
