"""Redis memory per scheduled task, for sizing maxmemory (docs/deployment.md, "Sizing Redis").

  .venv/bin/python deploy/stack/redis_memory.py INPUT_BYTES [TASKS]   (redis-server on PATH)

Starts a private redis-server on a free loopback port, schedules TASKS (2000) text tasks of
INPUT_BYTES through the real api app, and prints used_memory's growth per task.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.api.app import create_app  # noqa: E402
from services.embedded import free_port  # noqa: E402
from shared.accounts import UserStore  # noqa: E402
from shared.keys import Keys  # noqa: E402
from shared.registry import ProviderRegistry  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.support.providers import EchoProvider  # noqa: E402


async def measure(redis: Redis, url: str, size: int, n: int) -> float:
    settings = Settings.from_env(redis_url=url, files_dir="/tmp/taskproc-redis-memory",
                                 rate_limits={"schedule_user": ""})
    keys = Keys(settings.key_prefix)
    await ProviderRegistry(redis, keys).register(EchoProvider().spec, 3600)
    password = await UserStore(redis, keys).add("alice")
    token = base64.b64encode(f"alice:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "OCS-APIRequest": "true"}
    before = (await redis.info("memory"))["used_memory"]
    body = {"type": "core:text2text", "appId": "m", "input": {"input": "x" * size}}
    async with TestClient(TestServer(create_app(settings))) as client:
        for _ in range(n):
            resp = await client.post("/ocs/v2.php/taskprocessing/schedule?format=json",
                                     json=body, headers=headers)
            assert resp.status == 200, await resp.text()
    return ((await redis.info("memory"))["used_memory"] - before) / n


async def main(size: int, n: int) -> None:
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    redis = Redis.from_url(url)
    try:
        for _ in range(100):  # a server we just started: bounded wait for it to answer
            try:
                await redis.ping()
                break
            except RedisConnectionError:
                await asyncio.sleep(0.05)
        per_task = await measure(redis, url, size, n)
        print(f"input {size} B: {per_task:.0f} bytes of Redis memory per scheduled task "
              f"({n} tasks)")
    finally:
        await redis.aclose()
        server.terminate()
        server.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 2000))
