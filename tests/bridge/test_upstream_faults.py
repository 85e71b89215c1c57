"""The bridge against an upstream that does not long-poll (as Nextcloud) or goes away."""

from __future__ import annotations

import signal

import aiohttp
from redis.asyncio import Redis

from shared.tasks import Status
from tests.support.bridge import LOCAL, Cluster, final, metric, schedule
from tests.support.waits import until

NO_LONG_POLL = {"TASKPROC_BRIDGE__WAIT_SECONDS": "0", "TASKPROC_BRIDGE__IDLE_INTERVAL": "60",
                "TASKPROC_BRIDGE__IDLE_MAX_INTERVAL": "60"}
"""Pull without `wait` and pause a minute when idle: only the trigger call can be quick."""


async def test_trigger_ends_the_idle_pause(cluster: Cluster, redis: Redis) -> None:
    _, base = await cluster.bridge(**NO_LONG_POLL)

    async def polled() -> bool:
        return await metric(base, "taskproc_bridge_polls_total") >= 1
    await until(polled)
    tid = await schedule(cluster, "core:text2text", {"input": "now"})
    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{base}/trigger?providerId=taskproc-core:text2text",
                               headers=cluster.nextcloud_headers)
        assert resp.status == 200
    task = await final(redis, tid, timeout=20)  # well inside the minute's pause
    assert task["status"] == Status.SUCCESSFUL.value, task


async def test_upstream_outage_loses_nothing(cluster: Cluster, redis: Redis) -> None:
    _, base = await cluster.bridge()
    upstream = next(p for p in cluster.procs)  # the first process started is the upstream
    tid = await schedule(cluster, "core:text2text:headline", {"input": "kept"})

    async def scheduled_locally() -> bool:
        return bool(await redis.hexists(LOCAL.bridge_task(tid), "local"))
    await until(scheduled_locally)
    upstream.send_signal(signal.SIGKILL)
    await upstream.wait()

    async def noticed() -> bool:
        return await metric(base, "taskproc_bridge_upstream_up") == 0
    await until(noticed, timeout=30)
    assert await redis.exists(LOCAL.bridge_task(tid))  # still held while Nextcloud is away
    await cluster.upstream()
    task = await final(redis, tid, timeout=60)
    assert task["status"] == Status.SUCCESSFUL.value, task
    assert task["output"] == '{"output":"KEPT"}'
    assert list((await redis.hgetall("tp:test:completed")).values()) == [b"1"]  # ran once
