"""Rate limits hold across api processes because their windows live in the shared Redis."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from services.embedded import free_port
from shared.registry import ProviderRegistry
from tests.support.processes import Processes, http_ready
from tests.support.providers import EchoProvider


@pytest.fixture
async def two_apis(processes: Processes) -> list[str]:
    """Two `taskproc api` processes on one Redis; their base URLs."""
    ports = [free_port(), free_port()]
    for port in ports:
        await processes.start("services.cli", "api", ready=http_ready(port),
                              TASKPROC_API_PORT=str(port))
    return [f"http://127.0.0.1:{p}" for p in ports]


async def test_schedule_cap_holds_across_two_api_processes(two_apis: list[str], redis: Any,
                                                           keys: Any, make_user: Any) -> None:
    await ProviderRegistry(redis, keys).register(EchoProvider().spec, 60)
    alice = await make_user("alice")
    body = {"type": "core:text2text", "appId": "t", "input": {"input": "x"}}
    codes = []
    async with aiohttp.ClientSession(headers=alice) as s:
        for i in range(22):
            url = f"{two_apis[i % 2]}/ocs/v2.php/taskprocessing/schedule?format=json"
            async with s.post(url, json=body) as r:
                codes.append(r.status)
    assert codes == [200] * 20 + [429, 429]
