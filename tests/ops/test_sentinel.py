"""Every role against a Sentinel-managed primary, through a failover (real servers)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.api.app import create_app
from shared.accounts import UserStore
from shared.keys import Keys
from shared.redis import connect
from shared.registry import ProviderRegistry
from shared.settings import Settings
from shared.tasks import Status
from tests.ops.sentinel import SentinelGroup
from tests.support.ocs import basic, data, schedule
from tests.support.providers import EchoProvider
from tests.support.waits import answers_ok, until, wait_for_status


@pytest.fixture
def group(tmp_path: Path) -> Iterator[SentinelGroup]:
    servers = SentinelGroup(tmp_path)
    try:
        yield servers.start()
    finally:
        servers.stop()


async def _provider_alive(redis: Any, keys: Keys, provider_id: str) -> None:
    registry = ProviderRegistry(redis, keys)
    async with asyncio.timeout(10):
        while True:  # bounded poll: heartbeats do not publish
            if provider_id in (await registry.snapshot(fresh=True)).providers:
                return
            await asyncio.sleep(0.1)


async def _round_trip(api: Any, headers: dict[str, str], redis: Any, keys: Keys,
                      text: str) -> tuple[str, str]:
    resp = await schedule(api, headers, text)
    tid = int((await data(resp))["task"]["id"])
    task = await wait_for_status(redis, keys, tid, timeout=15)
    assert task.status is Status.SUCCESSFUL and task.output == {"output": text.upper()}
    return resp.headers["X-RateLimit-Remaining"], task.provider_id


async def test_api_and_dispatcher_keep_working_through_a_failover(
        group: SentinelGroup, tmp_path: Path, aiohttp_client: Any, dispatcher: Any) -> None:
    settings = Settings(redis_sentinels=group.sentinels, files_dir=tmp_path / "files",
                        lease_seconds=1.0, tasktypes_cache_seconds=0.0,
                        provider_heartbeat_seconds=1.0, dispatcher_fallback_poll=0.5,
                        dispatcher_metrics_port=0, shutdown_grace_seconds=2)
    keys, redis = Keys(settings.key_prefix), connect(settings)
    try:
        alice = basic("alice", await UserStore(redis, keys).add("alice"))
        api = await aiohttp_client(create_app(settings))
        proc = await dispatcher(EchoProvider(), settings_=settings)
        assert await _round_trip(api, alice, redis, keys, "before") == ("19", "test:echo")
        await asyncio.to_thread(group.failover)
        # writes the old primary took between the promotion and its demotion are lost (async
        # replication): the provider is back once the next heartbeat lands on the new primary
        await _provider_alive(redis, keys, "test:echo")
        # the same clients, pools and listeners: they find the new primary through the sentinels
        assert await _round_trip(api, alice, redis, keys, "after") == ("18", "test:echo")
        port = (await redis.connection_pool.get_master_address())[1]
        assert port == group.ports["replica"]
        # ready again once its pub/sub listener has subscribed on the new primary and a loop
        # has reached it; the round trip above can finish before (the worker polls as well)
        await until(lambda: answers_ok(f"http://127.0.0.1:{proc.health.port}/readyz"),
                    timeout=20)
    finally:
        await redis.aclose()
