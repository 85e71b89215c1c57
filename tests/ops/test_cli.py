"""`taskproc task …` and `taskproc stats` against a real Redis, through the CLI's parser."""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
import pytest

from services.cli import _parser
from shared.settings import Settings
from shared.store import OPERATOR, TaskStore
from shared.tasks import Status
from tests.support.ocs import scheduled_id
from tests.support.providers import EchoProvider, GateProvider, register_alive
from tests.support.waits import wait_for_status


async def run(settings: Settings, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[
        int, str]:
    args = _parser().parse_args(list(argv))
    code = await args.func(settings, args)
    return code, capsys.readouterr().out


async def test_list_filters_and_show(api: Any, make_user: Any, redis: Any, keys: Any,
                                     settings: Settings, capsys: Any) -> None:
    await register_alive(redis, keys, EchoProvider(), EchoProvider("core:text2text:summary", "s"))
    alice, bob = await make_user("alice"), await make_user("bob")
    a1 = await scheduled_id(api, alice)
    b1 = await scheduled_id(api, bob, task_type="core:text2text:summary")
    await TaskStore(redis, keys).cancel(a1, OPERATOR)
    code, out = await run(settings, capsys, "task", "list")
    assert code == 0 and [int(line.split("\t")[0]) for line in out.splitlines()] == [b1, a1]
    _, out = await run(settings, capsys, "task", "list", "--status", "cancelled")
    assert [int(line.split("\t")[0]) for line in out.splitlines()] == [a1]
    _, out = await run(settings, capsys, "task", "list", "--user", "bob", "--json")
    assert [orjson.loads(line)["id"] for line in out.splitlines()] == [str(b1)]
    _, out = await run(settings, capsys, "task", "list", "--type", "core:text2text:summary",
                       "--status", "SCHEDULED")
    assert out.startswith(f"{b1}\tSCHEDULED\tcore:text2text:summary\tbob")
    code, out = await run(settings, capsys, "task", "show", str(b1))
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert code == 0 and rows["status"] == ["STATUS_SCHEDULED"] and rows["userId"] == ["bob"]
    scheduled = rows["scheduledAt"]  # local date and time, the stored number beside it
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", scheduled[0]) and scheduled[2].strip("()").isdigit()
    assert rows[f"{keys.p}:run:{b1}:1"] == ["yes", "no"]  # job: queued, not in progress
    _, out = await run(settings, capsys, "task", "show", str(b1), "--json")
    shown = orjson.loads(out)
    assert shown["task"]["id"] == str(b1) and shown["job"]["queued"] is True
    assert (await run(settings, capsys, "task", "show", "999"))[0] == 1


async def test_cancel_then_requeue_runs_the_task(api: Any, make_user: Any, redis: Any,
                                                 keys: Any, settings: Settings, capsys: Any,
                                                 dispatcher: Any) -> None:
    gate = GateProvider(pid="test:gate")
    await dispatcher(gate)
    alice = await make_user("alice")
    tid = await scheduled_id(api, alice)
    assert await gate.started.get() == tid
    code, out = await run(settings, capsys, "task", "cancel", str(tid))
    assert code == 0 and "STATUS_CANCELLED" in out
    assert await gate.cancelled.get() == tid  # the dispatcher stopped the work at once
    code, out = await run(settings, capsys, "task", "requeue", str(tid))
    assert code == 0 and "STATUS_SCHEDULED" in out
    assert await gate.started.get() == tid
    gate.release.set()
    task = await wait_for_status(redis, keys, tid, Status.SUCCESSFUL)
    assert task.gen == 2 and task.attempt == 1
    assert "endedAt" in task.raw and "errorMessage" not in task.raw
    assert (await run(settings, capsys, "task", "requeue", str(tid)))[0] == 1  # successful


async def test_requeue_takes_a_stuck_task_from_its_holder(api: Any, make_user: Any,
                                                          redis: Any, keys: Any,
                                                          settings: Settings,
                                                          capsys: Any) -> None:
    await register_alive(redis, keys)
    alice = await make_user("alice")
    tid = await scheduled_id(api, alice)
    store = TaskStore(redis, keys)
    await store.claim(tid, gen=None, owner="stuck", token="old", lease_ms=3_600_000,
                      provider_id="test:echo")
    assert (await run(settings, capsys, "task", "requeue", str(tid)))[0] == 0
    accepted = await store.result(tid, output={"output": "late"}, token="old")
    assert accepted is not None and accepted.applied is False  # the old holder is fenced off
    task = await store.get(tid)
    assert task is not None and task.status is Status.SCHEDULED
    assert await redis.zscore(keys.queue, f"{keys.p}:run:{tid}:2") is not None
    assert await redis.zscore(keys.queue, f"{keys.p}:run:{tid}:1") is None


async def test_cleanup_deletes_old_tasks_only(api: Any, make_user: Any, redis: Any, keys: Any,
                                              settings: Settings, capsys: Any) -> None:
    await register_alive(redis, keys)
    alice = await make_user("alice")
    old, new = await scheduled_id(api, alice), await scheduled_id(api, alice)
    await redis.zadd(keys.tasks_updated, {str(old): int(time.time()) - 10 * 86400})
    _, out = await run(settings, capsys, "task", "cleanup", "--older-than-days", "5",
                       "--dry-run")
    assert out.strip() == "would delete 1 task(s)" and await redis.exists(keys.task(old))
    _, out = await run(settings, capsys, "task", "cleanup", "--older-than-days", "5")
    assert out.strip() == "deleted 1 task(s)"
    assert not await redis.exists(keys.task(old)) and await redis.exists(keys.task(new))


async def test_stats(api: Any, make_user: Any, redis: Any, keys: Any, settings: Settings,
                     capsys: Any) -> None:
    await register_alive(redis, keys)
    alice = await make_user("alice")
    await scheduled_id(api, alice)
    code, out = await run(settings, capsys, "stats")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["task", "type", "waiting", "oldest", "waiting",
                                              "(s)", "running"]
    row = lines[2].split()
    assert row[:2] == ["core:text2text", "1"] and row[3] == "0"
    header = lines[0]  # numbers end under the right edge of their header
    assert lines[2].index(" 1 ") + 2 == header.index("waiting") + len("waiting")
    assert lines[-1].split() == ["*", "core:text2text", "test:echo", "local", "Echo", "(tests)"]
    _, out = await run(settings, capsys, "stats", "--json")
    data = orjson.loads(out)
    assert data["types"]["core:text2text"]["waiting"] == 1
    assert data["job_queue"] == 1 and data["providers"][0]["preferred"] is True


async def test_bulk_requeue_by_status_shows_progress(api: Any, make_user: Any, redis: Any,
                                                    keys: Any, settings: Settings,
                                                    capsys: Any) -> None:
    await register_alive(redis, keys)
    alice = await make_user("alice")
    ids = [await scheduled_id(api, alice) for _ in range(3)]
    store = TaskStore(redis, keys)
    for tid in ids[:2]:
        await store.cancel(tid, OPERATOR)
    args = _parser().parse_args(["task", "requeue", "--status", "cancelled"])
    assert await args.func(settings, args) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "requeued 2 of 2 task(s)"
    assert re.match(r"requeueing tasks: 2/2 \(100%\), \d+/s, [\d.]+s$", captured.err)
    for tid in ids:
        task = await store.get(tid)
        assert task is not None and task.status is Status.SCHEDULED
    code, out = await run(settings, capsys, "task", "requeue", str(ids[0]), "999999")
    assert code == 1 and out.strip() == (
        "requeued 0 of 2 task(s); 2 not found, scheduled or successful")


async def test_cleanup_reports_progress(api: Any, make_user: Any, redis: Any, keys: Any,
                                        settings: Settings, capsys: Any) -> None:
    await register_alive(redis, keys)
    alice = await make_user("alice")
    old = [await scheduled_id(api, alice) for _ in range(3)]
    await redis.zadd(keys.tasks_updated, {str(t): int(time.time()) - 10 * 86400 for t in old})
    args = _parser().parse_args(["task", "cleanup", "--older-than-days", "5"])
    assert await args.func(settings, args) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "deleted 3 task(s)"
    assert captured.err.startswith("looking at old tasks: 3/3 (100%)")
