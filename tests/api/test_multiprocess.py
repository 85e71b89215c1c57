"""Rate limits hold across api processes because their windows live in the shared Redis."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from services.embedded import free_port
from shared.registry import ProviderRegistry
from shared.settings import Settings
from tests.support.providers import EchoProvider

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
async def two_apis(settings: Settings) -> AsyncIterator[list[str]]:
    ports = [free_port(), free_port()]
    env = dict(os.environ, TASKPROC_REDIS_URL=settings.redis_url, PYTHONPATH=ROOT)
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "api", cwd=ROOT,
        env=env | {"TASKPROC_API_PORT": str(p)}, stderr=asyncio.subprocess.DEVNULL)
        for p in ports]
    try:
        async with aiohttp.ClientSession() as s:
            for p in ports:
                await _until_up(s, f"http://127.0.0.1:{p}/ocs/v2.php/cloud/capabilities")
        yield [f"http://127.0.0.1:{p}" for p in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await proc.wait()


async def _until_up(s: aiohttp.ClientSession, url: str) -> None:
    async with asyncio.timeout(30):
        while True:  # readiness poll of a process this test started
            try:
                async with s.get(url, headers={"OCS-APIRequest": "true"}) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)


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
