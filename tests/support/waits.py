"""Waiting for task state through Redis pub/sub, never by sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
from redis.asyncio import Redis

from shared.keys import Keys
from shared.tasks import Status, Task


async def wait_for_status(redis: Redis, keys: Keys, task_id: int, *wanted: Status,
                          timeout: float = 20.0) -> Task:
    """Return the task once its status is one of `wanted` (subscribe first, then check)."""
    wanted = wanted or (Status.SUCCESSFUL, Status.FAILED, Status.CANCELLED)
    async with redis.pubsub() as ps:
        await ps.subscribe(keys.chan_task)
        async with asyncio.timeout(timeout):
            while True:
                raw = await redis.hgetall(keys.task(task_id))  # type: ignore[misc]
                task = Task.from_redis(raw) if raw else None
                if task is not None and task.status in wanted:
                    return task
                await _next_event(ps, task_id)


async def _next_event(ps: object, task_id: int) -> None:
    """Wait for any event of this task (status changes publish on chan:task)."""
    while True:
        msg = await ps.get_message(ignore_subscribe_messages=True, timeout=1.0)  # type: ignore
        if msg is None:
            return  # re-check: claims and progress do not publish
        if msg["data"].decode().split(" ")[0] == str(task_id):
            return


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 20.0,
                interval: float = 0.02) -> None:
    """Bounded readiness poll of something outside this process (a server we started, a
    metric it exposes); raises TimeoutError after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - the state lives in another process
            await asyncio.sleep(interval)


async def answers_ok(url: str, headers: dict[str, str] | None = None) -> bool:
    """One readiness probe of a server in another process: GET `url` answers 200."""
    try:
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


DISPATCHER_READY = b"ready with providers"


async def ready_line(proc: asyncio.subprocess.Process, marker: bytes = DISPATCHER_READY,
                     timeout: float = 30.0) -> None:
    """Read the child's stderr until `marker` (a dispatcher logs it once it takes work)."""
    assert proc.stderr is not None
    async with asyncio.timeout(timeout):
        while marker not in (line := await proc.stderr.readline()):
            assert line, "the process exited before it was ready"
