"""Shared fixtures: a real Redis server per test session, the api app, users, dispatchers.

The server is started here on a free port (so tests never touch a Redis someone else uses) and
flushed before every test. Set TASKPROC_TEST_REDIS_URL to use an existing server instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as sync_redis
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from services.api.app import create_app
from services.dispatcher.main import DispatcherProcess
from services.dispatcher.provider_interface import Provider
from services.embedded import EmbeddedRedis
from shared.accounts import UserStore
from shared.keys import Keys
from shared.settings import Settings
from tests.support.ocs import basic
from tests.support.processes import Processes


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("TASKPROC_TEST_REDIS_URL"):
        yield url
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persistent=False).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    client = sync_redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url


@pytest.fixture
def settings(clean_redis: str, tmp_path: Path) -> Settings:
    return Settings(redis_url=clean_redis, files_dir=tmp_path / "files", lease_seconds=1.0,
                    tasktypes_cache_seconds=0.0, dispatcher_fallback_poll=0.5,
                    provider_heartbeat_seconds=1.0, shutdown_grace_seconds=2)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def keys(settings: Settings) -> Keys:
    return Keys(settings.key_prefix)


@pytest.fixture
async def api(aiohttp_client: Any, settings: Settings) -> TestClient:  # type: ignore[type-arg]
    client: TestClient = await aiohttp_client(create_app(settings))  # type: ignore[type-arg]
    return client


@pytest.fixture
def make_user(redis: Redis, keys: Keys) -> Callable[..., Awaitable[dict[str, str]]]:
    """`await make_user("alice")` -> request headers authenticating as alice."""
    async def make(uid: str, admin: bool = False) -> dict[str, str]:
        password = await UserStore(redis, keys).add(uid, admin=admin)
        return basic(uid, password)
    return make


@pytest.fixture
async def dispatcher(settings: Settings) -> AsyncIterator[
        Callable[..., Awaitable[DispatcherProcess]]]:
    """`await dispatcher(provider, …)` starts an in-process dispatcher, stopped at teardown."""
    running: list[tuple[DispatcherProcess, asyncio.Task[None]]] = []

    async def start(*providers: Provider, settings_: Settings | None = None) -> DispatcherProcess:
        proc = DispatcherProcess(settings_ or settings, list(providers))
        started = asyncio.Event()
        startup = proc.worker.on_startup

        async def on_startup(ctx: dict[str, Any]) -> None:
            assert startup is not None
            await startup(ctx)
            started.set()
        proc.worker.on_startup = on_startup
        task = asyncio.create_task(proc.run())
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        running.append((proc, task))
        return proc

    yield start
    for proc, task in running:
        proc.stop()
        done, _ = await asyncio.wait({task}, timeout=10)
        if not done:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def processes(settings: Settings) -> AsyncIterator[Processes]:
    """Real role processes on this test's Redis (`await processes.start(module, *args)`),
    killed at teardown; the lease and heartbeat settings match `settings`."""
    children = Processes(settings, TASKPROC_LEASE_SECONDS=str(settings.lease_seconds),
                         TASKPROC_PROVIDER_HEARTBEAT_SECONDS="1")
    yield children
    await children.stop_all()
