"""Worker processes for the benchmarks: our dispatcher with bench providers, and stock arq.

    python -m bench.workers dispatcher   # taskproc dispatcher, providers: stamp + noop
    python -m bench.workers arq          # stock arq worker, default settings

Both record when a job/provider starts in the Redis hash `bench:start` (field = id).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker

from services.dispatcher.main import DispatcherProcess
from services.dispatcher.provider_interface import ProviderContext
from shared.provider_spec import ProviderSpec
from shared.settings import Settings


class StampProvider:
    """Records its start time, then returns at once."""

    def __init__(self, task_type: str, pid: str, redis_url: str) -> None:
        self.spec = ProviderSpec(id=pid, name=pid, task_type=task_type)
        import redis.asyncio as aioredis
        self.redis = aioredis.Redis.from_url(redis_url)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        await self.redis.hset("bench:start", str(ctx.task_id), repr(time.time()))  # type: ignore[misc]
        return {"output": ""}


class NoopProvider:
    def __init__(self, task_type: str, pid: str) -> None:
        self.spec = ProviderSpec(id=pid, name=pid, task_type=task_type)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        return {"output": ""}


async def stamp(ctx: dict[str, Any], job_no: int) -> None:
    await ctx["redis"].hset("bench:start", str(job_no), repr(time.time()))


async def noop(ctx: dict[str, Any], job_no: int) -> None:
    return None


async def run_dispatcher() -> None:
    settings = Settings.from_env()
    providers = [StampProvider("core:text2text", "bench:stamp", settings.redis_url),
                 NoopProvider("core:text2text:summary", "bench:noop")]
    await DispatcherProcess(settings, providers, handle_signals=True).run()  # type: ignore[list-item]


def run_arq() -> None:
    url = os.environ["TASKPROC_REDIS_URL"]
    worker = Worker(functions=[stamp, noop], redis_settings=RedisSettings.from_dsn(url))
    worker.run()


if __name__ == "__main__":
    if sys.argv[1] == "arq":
        run_arq()
    else:
        asyncio.run(run_dispatcher())
