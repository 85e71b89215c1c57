"""Nothing stuck: real dispatcher processes killed with SIGKILL, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from shared.settings import Settings
from shared.store import LEASE_LOST_MESSAGE
from shared.tasks import Status
from tests.support.ocs import V2, scheduled_id
from tests.support.processes import Processes, RoleProcess
from tests.support.providers import EchoProvider, NoopProvider
from tests.support.waits import wait_for_status


async def spawn(processes: Processes, *providers: str, **env: str) -> RoleProcess:
    """A `tests.support.run_dispatcher` process with these providers, ready to take work."""
    return await processes.start("tests.support.run_dispatcher", *providers, **env)


async def _held(api: Any, headers: dict[str, str], redis: Any, keys: Any) -> tuple[int, int]:
    """Schedule "recover me" and wait until a `hold` provider runs it: (task id, its pid)."""
    async with redis.pubsub() as ps:
        await ps.subscribe(f"{keys.p}:chan:test")
        tid = await scheduled_id(api, headers, "recover me")
        async with asyncio.timeout(20):
            while (msg := await ps.get_message(ignore_subscribe_messages=True,
                                               timeout=5)) is None:
                pass
    _, started, pid = msg["data"].decode().split()
    assert int(started) == tid
    return tid, int(pid)


async def test_sigkilled_dispatcher_task_is_taken_over(api: Any, make_user: Any,
                                                       processes: Processes, dispatcher: Any,
                                                       redis: Any, keys: Any) -> None:
    proc = await spawn(processes, "hold")
    alice = await make_user("alice")
    tid, pid = await _held(api, alice, redis, keys)
    assert pid == proc.pid
    await proc.stop(signal.SIGKILL)
    await dispatcher(EchoProvider(pid="test:hold"))  # same provider id, a live process
    task = await wait_for_status(redis, keys, tid, Status.SUCCESSFUL, Status.FAILED)
    assert task.status is Status.SUCCESSFUL
    assert task.output == {"output": "RECOVER ME"}
    assert task.attempt == 2 and task.gen == 2


async def test_task_fails_after_max_attempts(api: Any, make_user: Any, processes: Processes,
                                             dispatcher: Any, redis: Any, keys: Any,
                                             settings: Settings) -> None:
    proc = await spawn(processes, "hold", TASKPROC_MAX_ATTEMPTS="1")
    alice = await make_user("alice")
    tid, _ = await _held(api, alice, redis, keys)
    await proc.stop(signal.SIGKILL)
    # a dispatcher without that provider still sweeps leases
    await dispatcher(NoopProvider("core:text2text:summary"),
                     settings_=settings.model_copy(update={"max_attempts": 1}))
    task = await wait_for_status(redis, keys, tid, Status.FAILED, Status.SUCCESSFUL)
    assert task.status is Status.FAILED
    body = await (await api.get(f"{V2}/task/{tid}?format=json", headers=alice)).json()
    assert body["ocs"]["data"]["task"]["userFacingErrorMessage"] == LEASE_LOST_MESSAGE


async def test_idle_dispatcher_stops_on_one_sigterm(processes: Processes) -> None:
    proc = await spawn(processes, "noop")
    proc.send_signal(signal.SIGTERM)
    assert await proc.wait(timeout=15) == 0


async def test_sigterm_hands_back_a_task_it_cannot_finish(api: Any, make_user: Any,
                                                          processes: Processes, dispatcher: Any,
                                                          redis: Any, keys: Any) -> None:
    proc = await spawn(processes, "hold", TASKPROC_SHUTDOWN_GRACE_SECONDS="1")
    alice = await make_user("alice")
    tid, _ = await _held(api, alice, redis, keys)
    proc.send_signal(signal.SIGTERM)
    assert await proc.wait(timeout=20) == 0
    task = await wait_for_status(redis, keys, tid, Status.SCHEDULED)
    assert task.attempt == 0 and task.gen == 2
    await dispatcher(EchoProvider(pid="test:hold"))
    done = await wait_for_status(redis, keys, tid, Status.SUCCESSFUL)
    assert done.output == {"output": "RECOVER ME"}


async def test_task_whose_worker_died_before_claiming_is_rescued(
        api: Any, make_user: Any, dispatcher: Any, redis: Any, keys: Any,
        settings: Settings) -> None:
    """A dispatcher SIGKILLed between arq's pickup and our claim leaves arq's in-progress
    marker behind (for days); the rescue sweep gives the task a new job."""
    from shared.registry import ProviderRegistry
    echo = EchoProvider()
    await ProviderRegistry(redis, keys).register(echo.spec, 60)
    alice = await make_user("alice")
    tid = await scheduled_id(api, alice, "recover me")
    job = f"{keys.p}:run:{tid}:1"
    await redis.set(f"arq:in-progress:{job}", b"1", px=7 * 24 * 3600 * 1000)  # the dead pickup
    await dispatcher(echo, settings_=settings.model_copy(update={"orphan_after_seconds": 0.3}))
    task = await wait_for_status(redis, keys, tid, Status.SUCCESSFUL)
    assert task.gen == 2 and task.output == {"output": "RECOVER ME"}
    assert not await redis.exists(f"arq:in-progress:{job}")


async def test_task_whose_job_vanished_is_rescued(api: Any, make_user: Any, dispatcher: Any,
                                                  redis: Any, keys: Any,
                                                  settings: Settings) -> None:
    from shared.registry import ProviderRegistry
    echo = EchoProvider()
    await ProviderRegistry(redis, keys).register(echo.spec, 60)
    alice = await make_user("alice")
    tid = await scheduled_id(api, alice, "recover me")
    job = f"{keys.p}:run:{tid}:1"
    await redis.delete(f"arq:job:{job}")  # e.g. a job that ran on a dispatcher without the provider
    await redis.zrem(keys.queue, job)
    await dispatcher(echo, settings_=settings.model_copy(update={"orphan_after_seconds": 0.3}))
    assert (await wait_for_status(redis, keys, tid, Status.SUCCESSFUL)).gen == 2
