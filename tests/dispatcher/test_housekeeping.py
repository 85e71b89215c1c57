"""Housekeeping removes old tasks with their index entries; dispatchers wake on enqueue."""

from __future__ import annotations

from typing import Any

from shared.settings import Settings
from shared.store import OPERATOR
from shared.tasks import Status
from tests.support.ocs import V2, scheduled_id
from tests.support.providers import EchoProvider
from tests.support.waits import wait_for_status


async def test_old_tasks_are_removed_with_index_entries(api: Any, make_user: Any,
                                                        dispatcher: Any, redis: Any,
                                                        keys: Any, settings: Settings) -> None:
    from shared.registry import ProviderRegistry
    echo = EchoProvider()
    await ProviderRegistry(redis, keys).register(echo.spec, 60)
    alice = await make_user("alice")
    old, kept = await scheduled_id(api, alice, "x"), await scheduled_id(api, alice, "x")
    for tid in (old, kept):
        await api.post(f"{V2}/tasks/{tid}/cancel?format=json", headers=alice)
    await redis.hset(keys.task(kept), "allowCleanup", "0")
    proc = await dispatcher(echo, settings_=settings.model_copy(update={
        "task_max_age_seconds": 3600, "housekeeping_interval_seconds": 3600}))
    # age the first task: its last update was five months ago
    five_months = 5 * 30 * 24 * 3600
    await redis.zincrby(keys.tasks_updated, -five_months, str(old))
    await redis.zincrby(keys.tasks_updated, -five_months, str(kept))
    await proc._housekeeping()
    assert not await redis.exists(keys.task(old))
    assert await redis.zscore(keys.user_tasks("alice"), str(old)) is None
    assert await redis.zscore(keys.tasks_updated, str(old)) is None
    assert (await api.get(f"{V2}/task/{old}?format=json", headers=alice)).status == 404
    assert await redis.exists(keys.task(kept))  # allowCleanup=false keeps it
    fresh = await scheduled_id(api, alice, "x")
    await wait_for_status(redis, keys, fresh, Status.SUCCESSFUL)
    await proc._housekeeping()
    assert await redis.exists(keys.task(fresh))
    assert await proc.dispatcher.store.delete(kept, OPERATOR) == []


async def test_pickup_does_not_wait_for_the_fallback_poll(api: Any, make_user: Any,
                                                          dispatcher: Any, redis: Any,
                                                          keys: Any, settings: Settings) -> None:
    """With a 60 s fallback poll, only the wake-up on enqueue can start these tasks."""
    await dispatcher(EchoProvider(), settings_=settings.model_copy(update={
        "dispatcher_fallback_poll": 60.0}))
    alice = await make_user("alice")
    for _ in range(3):
        tid = await scheduled_id(api, alice, "x")
        task = await wait_for_status(redis, keys, tid, Status.SUCCESSFUL, timeout=15)
        assert task.output == {"output": "X"}
