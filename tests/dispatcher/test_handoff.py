"""Handoff (services/dispatcher/handoff.py): an idle dispatcher is handed a new task without a
job; a task that waited too long, or whose provider is elsewhere, never runs twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from services.dispatcher import jobs
from services.dispatcher.main import DispatcherProcess
from shared.keys import Keys
from shared.settings import Settings
from shared.store import TaskStore
from shared.tasks import Status, Task
from tests.support.providers import EchoProvider, GateProvider
from tests.support.waits import until, wait_for_status

TYPE = "core:text2text"
StartDispatcher = Callable[..., Awaitable[DispatcherProcess]]


async def _schedule(store: TaskStore) -> Task:
    return await store.schedule(task_type=TYPE, user_id="alice", app_id="t", custom_id="",
                                inputs={"input": "x"}, webhook_uri=None, webhook_method=None,
                                include_watermark=True, expected_runtime=1)


async def _announced(redis: Redis, keys: Keys) -> None:
    async def slot() -> bool:
        return bool(await redis.zcard(keys.idle(TYPE)))
    await until(slot)


async def _fake_slot(store: TaskStore, provider: str, lease_ms: int) -> None:
    """A slot of a dispatcher that will never pop what it is handed."""
    gen = int(await store.redis.get(store.keys.providers_gen) or 0)
    await store.scripts.run("idle", [store.keys.idle(TYPE)], 60_000, "",
                            f"{gen}|{lease_ms}|{provider}|fake|gone-worker")


async def test_an_idle_dispatcher_is_handed_a_new_task(dispatcher: StartDispatcher,
                                                       redis: Redis, keys: Keys) -> None:
    gate = GateProvider(TYPE)
    proc = await dispatcher(gate)
    await _announced(redis, keys)
    store = TaskStore(redis, keys)
    task = await _schedule(store)
    assert await gate.started.get() == task.id
    running = await store.get(task.id)
    assert running is not None and running.status is Status.RUNNING
    assert running.raw["leaseOwner"] == proc.dispatcher.worker_id
    job = jobs.run_job_id(keys, task.id, 1)  # no job was ever queued for it
    assert await redis.zcard(keys.queue) == 0
    assert not await redis.exists(jobs.job_key(job), jobs.in_progress_key(job))
    gate.release.set()
    done = await wait_for_status(redis, keys, task.id)
    assert done.status is Status.SUCCESSFUL and done.output == {"output": "released"}


async def test_a_task_handed_off_long_ago_runs_once(dispatcher: StartDispatcher, redis: Redis,
                                                    keys: Keys) -> None:
    """Handed to a slot whose dispatcher died: the lease sweep requeues it; the dispatcher that
    pops the old hand-off later finds the lease gone and leaves the task to its new run."""
    store = TaskStore(redis, keys)
    await _fake_slot(store, "test:echo", lease_ms=1)
    task = await _schedule(store)
    assert await redis.llen(keys.handoff(TYPE)) == 1  # type: ignore[misc]

    async def requeued() -> bool:
        return task.id in (await store.expire_leases(max_attempts=3)).requeued
    await until(requeued)
    echo = EchoProvider(TYPE)
    await dispatcher(echo)
    done = await wait_for_status(redis, keys, task.id)

    async def popped() -> bool:
        return await redis.llen(keys.handoff(TYPE)) == 0  # type: ignore[misc,no-any-return]
    await until(popped)
    assert (done.status, done.gen, echo.seen) == (Status.SUCCESSFUL, 2, [task.id])


async def test_a_task_for_a_provider_elsewhere_goes_back_to_the_queue(
        dispatcher: StartDispatcher, redis: Redis, keys: Keys) -> None:
    """Popped by a dispatcher without its provider (the registry changed meanwhile): handed
    back, it runs from the queue in a new generation with the provider preferred now."""
    store = TaskStore(redis, keys)
    await _fake_slot(store, "test:elsewhere", lease_ms=60_000)
    task = await _schedule(store)
    echo = EchoProvider(TYPE)
    await dispatcher(echo)
    done = await wait_for_status(redis, keys, task.id)
    assert (done.status, done.gen, done.provider_id, echo.seen) == \
        (Status.SUCCESSFUL, 2, "test:echo", [task.id])


async def test_a_stopping_dispatcher_withdraws_its_slot(dispatcher: StartDispatcher,
                                                        redis: Redis, keys: Keys) -> None:
    proc = await dispatcher(EchoProvider(TYPE))
    await _announced(redis, keys)
    proc.stop()

    async def withdrawn() -> bool:
        return await redis.zcard(keys.idle(TYPE)) == 0  # type: ignore[no-any-return]
    await until(withdrawn)


async def test_the_queue_keeps_a_slot_of_its_own(settings: Settings, keys: Keys) -> None:
    """reserve() takes a slot only while another stays free for the queue's jobs."""
    redis = jobs.connect_pool(settings)
    store = TaskStore(redis, keys)

    async def nothing(*_: Any) -> None:
        return None
    worker = jobs.task_worker(settings.model_copy(update={"dispatcher_concurrency": 2}), redis,
                              store, nothing, worker_id="w", on_startup=nothing)
    try:
        assert await worker.reserve() is True
        assert await worker.reserve() is False  # the last free slot is the queue's
        worker.unreserve()
        assert worker.job_counter == 0
    finally:
        await redis.aclose()


async def test_an_unreadable_hand_off_is_dropped_and_hand_offs_go_on(
        dispatcher: StartDispatcher, redis: Redis, keys: Keys) -> None:
    gate = GateProvider(TYPE)
    proc = await dispatcher(gate)
    await _announced(redis, keys)
    await redis.rpush(keys.handoff(TYPE), b"{not json", b'{"task": 1}')  # type: ignore[misc]
    task = await _schedule(TaskStore(redis, keys))
    assert await gate.started.get() == task.id
    assert await redis.zcard(keys.queue) == 0  # handed off, not queued
    gate.release.set()
    assert (await wait_for_status(redis, keys, task.id)).status is Status.SUCCESSFUL

    async def slots_back() -> bool:  # the dropped items gave their reserved slots back
        return proc.worker.job_counter <= 1  # at most the reservation of the next wait
    await until(slots_back)
