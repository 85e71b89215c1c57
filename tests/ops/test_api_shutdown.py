"""Graceful shutdown of the api: on SIGTERM it stops accepting, finishes what is in flight."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import aiohttp

from services.embedded import free_port
from shared.provider_spec import ProviderSpec
from shared.registry import ProviderRegistry
from shared.store import TaskStore
from tests.support.exapp_auth import make_exapp_headers
from tests.support.processes import Processes, http_ready
from tests.support.waits import until


async def _metric(s: aiohttp.ClientSession, base: str, name: str) -> float:
    async with s.get(f"{base}/metrics") as r:
        for line in (await r.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


async def _holding(s: aiohttp.ClientSession, base: str) -> bool:
    return await _metric(s, base, "taskproc_http_requests_in_flight") >= 2  # it + /metrics


async def _refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    await writer.wait_closed()
    return False


async def test_sigterm_finishes_a_long_poll_and_refuses_new_connections(
        processes: Processes, redis: Any, keys: Any) -> None:
    spec = ProviderSpec(id="llm", name="LLM", task_type="core:text2text").with_kind("exapp", "app")
    await ProviderRegistry(redis, keys).register(spec, None)
    headers = await make_exapp_headers(redis, keys, "app")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = await processes.start("services.cli", "api", ready=http_ready(port),
                                 TASKPROC_API_PORT=str(port),
                                 TASKPROC_SHUTDOWN_GRACE_SECONDS="10")
    async with aiohttp.ClientSession() as s:
        poll = asyncio.create_task(s.get(
            f"{base}/ocs/v2.php/taskprocessing/tasks_provider/next?format=json&wait=20"
            "&providerIds[]=llm&taskTypeIds[]=core:text2text", headers=headers))
        await until(lambda: _holding(s, base))  # the server holds the long poll
        proc.send_signal(signal.SIGTERM)
        await until(lambda: _refused(port), timeout=10)
        task = await TaskStore(redis, keys).schedule(
            task_type="core:text2text", user_id=None, app_id="t", custom_id="",
            inputs={"input": "late"}, webhook_uri=None, webhook_method=None,
            include_watermark=True, expected_runtime=10)
        resp = await asyncio.wait_for(poll, 20)
        assert resp.status == 200
        body = await resp.json()
        assert body["ocs"]["data"]["task"]["id"] == task.id
        resp.release()
    assert await proc.wait(timeout=20) == 0
