"""Every task transition, script by script: (start status x script) -> (end status, answer).

This table is the state machine of docs/redis.md. Each case builds a task in its start status
with the scripts themselves, runs one script against it on a real Redis and checks the status
it leaves and the code it answers ('ok', 'refused', 'gone'; see shared/lua/common.lua).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from shared.keys import Keys
from shared.scripts import Scripts
from shared.store import TaskStore
from shared.tasks import Status, Task

TOKEN = "the-token"
S, R, OK_, FAIL, CANC, NONE = ("SCHEDULED", "RUNNING", "SUCCESSFUL", "FAILED", "CANCELLED",
                               "absent")
STARTS = (S, R, OK_, FAIL, CANC, NONE)
RUN_ARGS: dict[str, Callable[[], list[Any]]] = {
    "claim": lambda: ["", "worker", "new-token", 60_000, "test:echo"],
    "renew": lambda: [TOKEN, 60_000],
    "renew, another token": lambda: ["stale", 60_000],
    "progress": lambda: [0.5, TOKEN, 60_000, "1"],
    "progress, no token": lambda: [0.5, "", 60_000, "1"],
    "result": lambda: ["STATUS_SUCCESSFUL", '{"output": "x"}', "", "", TOKEN, "1", "", "1"],
    "result, failed": lambda: ["STATUS_FAILED", "", "boom", "", TOKEN, "0", "", "1"],
    "result, no token": lambda: ["STATUS_SUCCESSFUL", '{"output": "x"}', "", "", "", "1", "",
                                 "1"],
    "cancel": lambda: ["user", "alice"],
    "cancel, another user": lambda: ["user", "bob"],
    "delete": lambda: ["user", "alice"],
    "delete, another user": lambda: ["user", "bob"],
    "release": lambda: [TOKEN],
    "requeue": lambda: [],
}
# script -> {start: (end, code)}; a start not listed keeps its status and answers 'refused'
# (an absent task answers 'gone').
EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    "claim": {S: (R, "ok")},
    "renew": {R: (R, "ok")},
    "renew, another token": {},
    "progress": {R: (R, "ok")},
    "progress, no token": {},
    "result": {R: (OK_, "ok")},
    "result, failed": {R: (FAIL, "ok")},
    "result, no token": {},
    "cancel": {S: (CANC, "ok"), R: (CANC, "ok")},
    "cancel, another user": {s: (s, "gone") for s in STARTS},
    "delete": {s: (NONE, "ok") for s in STARTS[:-1]},
    "delete, another user": {s: (s, "gone") for s in STARTS},
    "release": {R: (S, "ok")},
    "requeue": {R: (S, "ok"), FAIL: (S, "ok"), CANC: (S, "ok")},
}


def _expected(script: str, start: str) -> tuple[str, str]:
    if start == NONE:
        return EXPECTED[script].get(NONE, (NONE, "gone"))
    return EXPECTED[script].get(start, (start, "refused"))


async def _task_in(store: TaskStore, start: str) -> int:
    if start == NONE:
        return 999_999
    task = await store.schedule(task_type="core:text2text", user_id="alice", app_id="t",
                                custom_id="", inputs={"input": "x"}, webhook_uri=None,
                                webhook_method=None, include_watermark=True, expected_runtime=1)
    if start == CANC:
        await store.scripts.task("cancel", task.id, "*", "")
    elif start != S:
        await store.scripts.task("claim", task.id, "", "worker", TOKEN, 60_000, "test:echo")
    if start in (OK_, FAIL):
        await store.scripts.task("result", task.id, f"STATUS_{start}", "", "", "", TOKEN, "1",
                                 "", "0")
    return task.id


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("script", list(RUN_ARGS))
async def test_transition(redis: Redis, keys: Keys, script: str, start: str) -> None:
    store = TaskStore(redis, keys)
    task_id = await _task_in(store, start)
    reply = await store.scripts.task(script.split(",")[0], task_id, *RUN_ARGS[script]())
    after = await store.get(task_id)
    end = NONE if after is None else after.status.value.removeprefix("STATUS_")
    assert (end, reply.code.value) == _expected(script, start)


@pytest.mark.parametrize(("attempts", "end"), [(1, Status.SCHEDULED), (3, Status.FAILED)])
async def test_expired_lease(redis: Redis, keys: Keys, attempts: int, end: Status) -> None:
    """expire: RUNNING past its lease -> SCHEDULED (a new generation), or FAILED after the
    last attempt; tasks whose lease still runs are left alone."""
    store = TaskStore(redis, keys)
    expired, held = await _task_in(store, S), await _task_in(store, R)
    await redis.hset(keys.task(expired), "attempt", attempts - 1)  # type: ignore[misc]
    await store.scripts.task("claim", expired, "", "worker", TOKEN, -1, "test:echo")
    result = await store.expire_leases(max_attempts=3)
    task = await store.get(expired)
    assert task is not None and task.status is end
    assert (result.requeued, result.failed) == (([expired], []) if end is Status.SCHEDULED
                                                else ([], [expired]))
    still = await store.get(held)
    assert still is not None and still.status is Status.RUNNING


async def test_rescue_gives_an_orphaned_task_a_new_job(redis: Redis, keys: Keys) -> None:
    """rescue: SCHEDULED whose job is gone stays SCHEDULED in a new generation; a task whose
    job is still queued is left alone."""
    store = TaskStore(redis, keys)
    orphan, fine = await _task_in(store, S), await _task_in(store, S)
    await redis.delete(f"arq:job:{keys.p}:run:{orphan}:1")
    reply = await Scripts(redis, keys).run("rescue", [], orphan, fine)
    assert [int(i) for i in reply.data] == [orphan]
    task = await store.get(orphan)
    assert task is not None and task.status is Status.SCHEDULED and task.gen == 2
    assert await redis.zscore(keys.queue, f"{keys.p}:run:{orphan}:2") is not None


def _slot(gen: object, provider: str = "test:echo", lease: int = 60_000) -> str:
    """A free slot as idle.lua announces it (services/dispatcher/handoff.py)."""
    return f"{gen}|{lease}|{provider}|nonce|worker-1"


@pytest.mark.parametrize("slot", ["current", "older registry", "lapsed", "none"])
async def test_schedule_hands_a_task_to_a_free_slot(redis: Redis, keys: Keys, slot: str) -> None:
    """schedule: SCHEDULED with a queued job, or RUNNING, claimed for the freshest free slot
    announced under the current registry generation and pushed to the type's handoff list
    (no job). A slot of an older registry or past its time is dropped, not used."""
    store, idle = TaskStore(redis, keys), keys.idle("core:text2text")
    gen = int(await redis.get(keys.providers_gen) or 0)
    if slot == "lapsed":
        await redis.zadd(idle, {_slot(gen): 1})
    elif slot != "none":
        await store.scripts.run("idle", [idle], 60_000, "",
                                _slot(gen if slot == "current" else gen + 1))
    task_id = await _task_in(store, S)
    task = await store.get(task_id)
    assert task is not None
    job_queued = await redis.zscore(keys.queue, f"{keys.p}:run:{task_id}:1") is not None
    handed = await redis.lrange(keys.handoff("core:text2text"), 0, -1)  # type: ignore[misc]
    assert await redis.zcard(idle) == 0  # the slot was used or dropped
    if slot != "current":
        assert (task.status, job_queued, handed) == (Status.SCHEDULED, True, [])
        return
    assert (task.status, job_queued, task.attempt) == (Status.RUNNING, False, 1)
    assert (task.raw["leaseToken"], task.raw["leaseOwner"], task.provider_id) == \
        (f"nonce:{task_id}", "worker-1", "test:echo")
    item = orjson.loads(handed[0])
    assert (len(handed), item["token"], item["lease"]) == (1, f"nonce:{task_id}", 60_000)
    assert Task.from_redis(item["task"]).raw == task.raw
    assert item["expires"] == int(task.raw["leaseExpires"])


async def test_idle_replaces_the_slot_announced_before(redis: Redis, keys: Keys) -> None:
    """idle: the new slot replaces the old one (stand 0 only withdraws); it answers the
    server's clock in ms."""
    scripts, idle = Scripts(redis, keys), keys.idle("core:text2text")
    reply = await scripts.run("idle", [idle], 60_000, "", _slot(1))
    assert abs(int(reply.data[0]) - time.time() * 1000) < 60_000
    await scripts.run("idle", [idle], 60_000, _slot(1), _slot(2))
    assert await redis.zrange(idle, 0, -1) == [_slot(2).encode()]
    await scripts.run("idle", [idle], 0, _slot(2), "")
    assert await redis.exists(idle) == 0
