"""The dispatcher's job queue: a started job leaves the due range, a job to be run again comes
back in line, a finished one is gone."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from services.dispatcher import jobs
from shared.keys import Keys
from shared.settings import Settings
from shared.store import OPERATOR, TaskStore
from shared.tasks import Status, Task
from tests.support.waits import until


async def _pickup(store: TaskStore, free: int = 4, *claim: Any) -> list[str]:
    reply = await store.scripts.run("pickup", [store.keys.queue], free, 100, 60_000, *claim)
    return [v.decode() for v in reply.data[0][0::2]]


async def _schedule(store: TaskStore, task_type: str = "core:text2text") -> Task:
    return await store.schedule(task_type=task_type, user_id="alice", app_id="t", custom_id="",
                                inputs={}, webhook_uri=None, webhook_method=None,
                                include_watermark=True, expected_runtime=1)


async def test_pickup_claims_the_tasks_of_served_types(redis: Any, keys: Keys) -> None:
    """The jobs of served types start with their task claimed (as claim.lua would); others
    are only started, for run_task to decide."""
    store = TaskStore(redis, keys)
    served, other = await _schedule(store), await _schedule(store, "core:text2text:summary")
    cancelled = await _schedule(store)
    await store.cancel(cancelled.id, OPERATOR)
    reply = await store.scripts.run("pickup", [keys.queue], 8, 100, 60_000,
                                    "worker", 30_000, "pfx", "core:text2text", "test:echo")
    started, claimed = reply.data
    assert len(started) == 2 * 3
    assert [Task.from_redis(t).id for t in claimed] == [served.id]
    task = await store.get(served.id)
    assert task is not None and task.status is Status.RUNNING
    assert (task.raw["leaseToken"], task.raw["leaseOwner"], task.provider_id) == \
        (f"pfx:{served.id}", "worker", "test:echo")
    assert (await store.get(other.id)).status is Status.SCHEDULED  # type: ignore[union-attr]


async def test_pickup_claims_only_for_the_current_generation(redis: Any, keys: Keys) -> None:
    store = TaskStore(redis, keys)
    task = await _schedule(store)
    assert await store.claim(task.id, gen=1, owner="w", token="t", lease_ms=60_000,
                             provider_id="test:echo") is not None
    await store.release(task.id, "t")  # generation 2, with a job of its own
    reply = await store.scripts.run("pickup", [keys.queue], 8, 100, 60_000,
                                    "worker", 30_000, "pfx", "core:text2text", "test:echo")
    started, claimed = reply.data
    jobs_started = {v.decode() for v in started[0::2]}
    assert jobs_started == {jobs.run_job_id(keys, task.id, g) for g in (1, 2)}  # 1: unclaimed
    assert [Task.from_redis(t).gen for t in claimed] == [2]


async def _picked_up_again(store: TaskStore, job: str) -> None:
    """A job put back in line is due within a millisecond, not at once: arq scores it with the
    client's clock rounded to the nearest ms (`timestamp_ms`), pickup.lua compares with Redis's
    TIME cut to the ms, so a pickup right after it can find it half a millisecond early."""
    async def picked() -> bool:
        return await _pickup(store) == [job]
    await until(picked, timeout=5, interval=0.001)


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
        await _picked_up_again(store, job)  # back in line
        await worker.finish_job(job, True, None, None, False, None, None)
        assert await redis.zscore(keys.queue, job) is None
        assert not await redis.exists(jobs.job_key(job), jobs.in_progress_key(job))
    finally:
        await redis.aclose()


async def test_a_job_claimed_at_pickup_runs_its_task_and_is_removed(settings: Settings,
                                                                     keys: Keys) -> None:
    """Jobs of served types run through LocalClaims.run (no arq job read, no claim script) and
    leave no trace in the queue; other jobs still go through arq to run_task."""
    redis = jobs.connect_pool(settings)
    store = TaskStore(redis, keys)
    ran: list[tuple[int, str, float]] = []
    via_arq: list[int] = []

    async def served() -> dict[str, str]:
        return {"core:text2text": "test:echo"}

    async def run(task: Task, token: str, enqueued_at: float) -> None:
        ran.append((task.id, token, enqueued_at))

    async def run_task(task_id: int, *_: Any) -> None:
        via_arq.append(task_id)

    async def startup(_: dict[str, Any]) -> None:
        return None
    worker = jobs.task_worker(settings, redis, store, run_task, worker_id="w",
                              on_startup=startup,
                              claims=jobs.LocalClaims("w", 30_000, served, run))
    try:
        held, other = await _schedule(store), await _schedule(store, "core:text2text:summary")
        await worker._pick(4)
        await asyncio.gather(*worker.tasks.values())
        assert [(i, token.endswith(f":{held.id}")) for i, token, _ in ran] == [(held.id, True)]
        assert abs(ran[0][2] - time.time()) < 60  # the job's enqueue time, in seconds
        assert via_arq == [other.id]
        job = jobs.run_job_id(keys, held.id, 1)
        assert await redis.zscore(keys.queue, job) is None
        assert not await redis.exists(jobs.in_progress_key(job), jobs.job_key(job))
        task = await store.get(held.id)
        assert task is not None and task.status is Status.RUNNING  # run() stored nothing
    finally:
        await redis.aclose()
