"""Replicas agree at once: an ExApp registration made through one api process is offered by
another api process before the registration call has returned (no cache window)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from services.embedded import free_port
from shared.settings import Settings
from tests.support.exapp_auth import make_exapp_headers
from tests.support.ocs import REGISTER, V2
from tests.support.waits import until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
async def two_apis(settings: Settings) -> AsyncIterator[list[str]]:
    """Two api processes with a long registry cache (60 s), so only invalidation can help."""
    ports = [free_port(), free_port()]
    env = dict(os.environ, TASKPROC_REDIS_URL=settings.redis_url, PYTHONPATH=ROOT,
               TASKPROC_TASKTYPES_CACHE_SECONDS="60")
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "api", cwd=ROOT,
        env=env | {"TASKPROC_API_PORT": str(p)}, stderr=asyncio.subprocess.DEVNULL)
        for p in ports]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        async with aiohttp.ClientSession() as s:
            for base in bases:
                await until(lambda b=base: _up(s, b), timeout=30)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await proc.wait()


async def _up(s: aiohttp.ClientSession, base: str) -> bool:
    try:
        async with s.get(f"{base}/readyz") as r:
            return r.status == 200
    except aiohttp.ClientConnectionError:
        return False


def _registration(n: int) -> dict[str, Any]:
    ttype = f"rep:copy{n}"
    return {"provider": {"id": f"rep-{n}", "name": "copy", "task_type": ttype,
                         "expected_runtime": 10},
            "customTaskType": {"id": ttype, "name": "Copy", "description": "replica test",
                               "input_shape": [{"name": "input", "description": "text",
                                                "shape_type": 1}],
                               "output_shape": [{"name": "output", "description": "text",
                                                 "shape_type": 1}]}}


async def _types(s: aiohttp.ClientSession, base: str, user: dict[str, str]) -> set[str]:
    async with s.get(f"{base}{V2}/tasktypes?format=json", headers=user) as r:
        assert r.status == 200
        return set((await r.json())["ocs"]["data"]["types"])


async def test_registration_is_offered_by_the_other_replica_at_once(
        two_apis: list[str], redis: Any, keys: Any, make_user: Any) -> None:
    app = await make_exapp_headers(redis, keys, "rep_app")
    alice = await make_user("alice")
    first, second = two_apis
    async with aiohttp.ClientSession() as s:
        for n in range(3):
            reg = _registration(n)
            ttype = reg["customTaskType"]["id"]
            # The second replica has just cached a registry without the new type.
            assert ttype not in await _types(s, second, alice)
            async with s.post(f"{first}{REGISTER}?format=json", json=reg, headers=app) as r:
                assert r.status == 200, await r.text()
            assert ttype in await _types(s, second, alice)
            body = {"type": ttype, "appId": "t", "input": {"input": "hello"}}
            async with s.post(f"{second}{V2}/schedule?format=json", json=body,
                              headers=alice) as r:
                assert r.status == 200, await r.text()
        # Unregistering is seen at once too: the type is no longer offered by the other one.
        async with s.delete(f"{first}{REGISTER}?name=rep-0&format=json",
                            headers=app) as r:
            assert r.status == 200, await r.text()
        assert "rep:copy0" not in await _types(s, second, alice)
