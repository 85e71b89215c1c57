"""The dispatcher's job queue: a started job leaves the due range, a job to be run again comes
back in line, a finished one is gone."""

from __future__ import annotations

from typing import Any

from services.dispatcher import jobs
from shared.keys import Keys
from shared.settings import Settings
from shared.store import TaskStore


async def _pickup(store: TaskStore, free: int = 4) -> list[str]:
    reply = await store.scripts.run("pickup", [store.keys.queue], free, 100, 60_000)
    return [v.decode() for v in reply.data[0::2]]


async def test_started_finished_and_run_again(settings: Settings, keys: Keys) -> None:
    redis = jobs.connect_pool(settings)
    store = TaskStore(redis, keys)

    async def run_task(*_: Any) -> None:
        return None

    async def startup(_: dict[str, Any]) -> None:
        return None
    worker = jobs.task_worker(settings, redis, store, run_task, worker_id="w",
                              on_startup=startup)
    try:
        task = await store.schedule(task_type="core:text2text", user_id="alice", app_id="t",
                                    custom_id="", inputs={}, webhook_uri=None,
                                    webhook_method=None, include_watermark=True,
                                    expected_runtime=1)
        job = jobs.run_job_id(keys, task.id, 1)
        assert await _pickup(store) == [job]
        assert await redis.exists(jobs.in_progress_key(job))
        assert await _pickup(store) == []  # running: out of the due range, not read again
        await worker.finish_job(job, False, None, None, False, None, None)  # e.g. cancelled
        assert not await redis.exists(jobs.in_progress_key(job))
        assert await _pickup(store) == [job]  # back in line
        await worker.finish_job(job, True, None, None, False, None, None)
        assert await redis.zscore(keys.queue, job) is None
        assert not await redis.exists(jobs.job_key(job), jobs.in_progress_key(job))
    finally:
        await redis.aclose()
