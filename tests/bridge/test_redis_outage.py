"""The bridge rides out a Redis outage: /readyz says not ready meanwhile, and it resumes by
itself (upstream, dispatcher and bridge all on one private Redis that is killed and restarted)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from shared.settings import Settings
from shared.tasks import Status
from tests.support.bridge import final, running_cluster, schedule
from tests.support.outage import RestartableRedis, http_status


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RestartableRedis]:
    srv = RestartableRedis(tmp_path / "redis").start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
async def client(server: RestartableRedis) -> AsyncIterator[Redis]:
    r = Redis.from_url(server.url)
    yield r
    await r.aclose()


async def test_bridge_resumes_after_redis_returns(settings: Settings, tmp_path: Path,
                                                  server: RestartableRedis,
                                                  client: Redis) -> None:
    private = settings.model_copy(update={"redis_url": server.url})
    async with running_cluster(private, tmp_path, client) as c:
        _, base = await c.bridge()
        first = await schedule(c, "core:text2text", {"input": "before"})
        assert (await final(client, first))["status"] == Status.SUCCESSFUL.value
        server.kill()
        await http_status(f"{base}/readyz", 503)
        server.start()
        await http_status(f"{base}/readyz", 200)
        await http_status(f"{c.upstream_url}/readyz", 200)
        after = await schedule(c, "core:text2text", {"input": "after"})
        task = await final(client, after, timeout=60)
        assert task["status"] == Status.SUCCESSFUL.value, task
        assert task["output"] == '{"output":"AFTER"}'
