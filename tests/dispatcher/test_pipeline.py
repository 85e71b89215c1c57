"""The dispatcher end to end: schedule over HTTP, a real in-process arq worker, real Redis."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from shared.tasks import Status
from tests.support.ocs import V2, scheduled_id
from tests.support.providers import (
    BadOutputProvider,
    EchoProvider,
    FailingProvider,
    GateProvider,
    ShellProvider,
    SubprocessProvider,
)
from tests.support.waits import wait_for_status


async def get_task(api: Any, headers: dict[str, str], tid: int) -> dict[str, Any]:
    resp = await api.get(f"{V2}/task/{tid}?format=json", headers=headers)
    return (await resp.json())["ocs"]["data"]["task"]  # type: ignore[no-any-return]


async def test_task_runs_to_success(api: Any, make_user: Any, dispatcher: Any, redis: Any,
                                    keys: Any) -> None:
    echo = EchoProvider()
    await dispatcher(echo)
    alice = await make_user("alice")
    tid = await scheduled_id(api, alice, input={"input": "hello"})
    await wait_for_status(redis, keys, tid, Status.SUCCESSFUL)
    task = await get_task(api, alice, tid)
    assert task["status"] == "STATUS_SUCCESSFUL"
    assert task["output"] == {"output": "HELLO"}
    assert task["progress"] == 1.0
    assert task["startedAt"] is not None and task["endedAt"] >= task["startedAt"]
    assert echo.seen == [tid]


async def test_provider_error_fails_with_user_message_only(api: Any, make_user: Any,
                                                           dispatcher: Any, redis: Any,
                                                           keys: Any) -> None:
    await dispatcher(FailingProvider())
    alice = await make_user("alice")
    tid = await scheduled_id(api, alice)
    await wait_for_status(redis, keys, tid, Status.FAILED)
    task = await get_task(api, alice, tid)
    assert task["userFacingErrorMessage"] == "The engine ran out of memory"
    assert "errorMessage" not in task and "CUDA" not in str(task)


async def test_invalid_output_fails_the_task(api: Any, make_user: Any, dispatcher: Any,
                                             redis: Any, keys: Any) -> None:
    await dispatcher(BadOutputProvider())
    alice = await make_user("alice")
    tid = await scheduled_id(api, alice)
    task = await wait_for_status(redis, keys, tid, Status.FAILED)
    assert task.progress == 1
    assert (await get_task(api, alice, tid))["userFacingErrorMessage"] == (
        "The provider returned an invalid result")


async def test_cancel_running_task_stops_provider_and_drops_result(
        api: Any, make_user: Any, dispatcher: Any, redis: Any, keys: Any) -> None:
    gate = GateProvider()
    await dispatcher(gate)
    alice = await make_user("alice")
    tid = await scheduled_id(api, alice)
    assert await asyncio.wait_for(gate.started.get(), 10) == tid
    resp = await api.post(f"{V2}/tasks/{tid}/cancel?format=json", headers=alice)
    assert (await resp.json())["ocs"]["data"]["task"]["status"] == "STATUS_CANCELLED"
    assert await asyncio.wait_for(gate.cancelled.get(), 10) == tid
    gate.release.set()
    task = await get_task(api, alice, tid)
    assert task["status"] == "STATUS_CANCELLED" and task["output"] is None


async def test_cancel_kills_the_engine_subprocess(api: Any, make_user: Any, dispatcher: Any,
                                                  redis: Any, keys: Any) -> None:
    proc = SubprocessProvider()
    await dispatcher(proc)
    alice = await make_user("alice")
    tid = await scheduled_id(api, alice)
    pid = await asyncio.wait_for(proc.pids.get(), 10)
    await api.post(f"{V2}/tasks/{tid}/cancel?format=json", headers=alice)
    await wait_for_status(redis, keys, tid, Status.CANCELLED)
    deadline = asyncio.get_running_loop().time() + 10
    while _alive(pid):  # the kill is asynchronous; reap-check with a bound
        assert asyncio.get_running_loop().time() < deadline, "engine subprocess survived"
        await asyncio.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def test_run_process_engine_is_killed_on_cancel(api: Any, make_user: Any,
                                                      dispatcher: Any, redis: Any,
                                                      keys: Any) -> None:
    await dispatcher(ShellProvider())
    alice = await make_user("alice")
    tid = await scheduled_id(api, alice, input={"input": "300"})
    await wait_for_status(redis, keys, tid, Status.RUNNING)
    children = _sleep_children()
    await api.post(f"{V2}/tasks/{tid}/cancel?format=json", headers=alice)
    await wait_for_status(redis, keys, tid, Status.CANCELLED)
    deadline = asyncio.get_running_loop().time() + 10
    while any(_alive(p) for p in children):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)


def _sleep_children() -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().split()
            except OSError:
                continue
            if fields[3] == me and fields[1] == "(sleep)":
                found.append(int(entry))
    return found


async def test_cancelled_scheduled_task_never_starts(api: Any, make_user: Any,
                                                     dispatcher: Any, redis: Any,
                                                     keys: Any) -> None:
    alice = await make_user("alice")
    echo = EchoProvider()
    from shared.registry import ProviderRegistry
    await ProviderRegistry(redis, keys).register(echo.spec, 60)
    tid = await scheduled_id(api, alice)
    await api.post(f"{V2}/tasks/{tid}/cancel?format=json", headers=alice)
    await dispatcher(echo)
    tid2 = await scheduled_id(api, alice)
    await wait_for_status(redis, keys, tid2, Status.SUCCESSFUL)
    assert echo.seen == [tid2]  # jobs run in order: the cancelled one was skipped
    assert (await get_task(api, alice, tid))["status"] == "STATUS_CANCELLED"
