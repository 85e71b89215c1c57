"""Scale-out: two api processes, three dispatchers and a fileproxy on one machine serve a mixed
load while one dispatcher is killed and replaced; every task ends final, none completes twice.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import aiohttp

from services.embedded import free_port
from shared.store import TaskStore
from shared.tasks import Status
from tests.support.processes import Processes, RoleProcess, http_ready
from tests.support.waits import wait_for_status

TYPES = ("core:text2text", "core:text2text:summary")


ENV = dict(TASKPROC_TASKTYPES_CACHE_SECONDS="0", TASKPROC_RATE_LIMITS__SCHEDULE_USER="",
           TASKPROC_DISPATCHER_METRICS_PORT="-1", TASKPROC_ORPHAN_AFTER_SECONDS="2",
           TEST_WORK_SECONDS="1")
"""A task takes 1 s, so the victim still holds tasks when the test looks for one to kill it
on (with 0.2 s, three dispatchers could finish the first 60 before that, and nothing new came
while the test waited)."""


async def test_mixed_load_survives_a_killed_dispatcher(processes: Processes, make_user: Any,
                                                       redis: Any, keys: Any) -> None:
    ports = [free_port(), free_port()]
    for port in ports:
        await processes.start("services.cli", "api", ready=http_ready(port),
                              TASKPROC_API_PORT=str(port), **ENV)
    fp = free_port()
    await processes.start("services.cli", "fileproxy", ready=http_ready(fp),
                          TASKPROC_FILEPROXY_PORT=str(fp), **ENV)
    kinds = [f"count:{t}" for t in TYPES]
    dispatchers = [await processes.start("tests.support.run_dispatcher", *kinds, **ENV)
                   for _ in range(3)]
    users = [await make_user("alice"), await make_user("bob")]
    victim = dispatchers[0]
    ids, cancelled, deleted = [], set(), set()
    async with aiohttp.ClientSession() as http:
        for i in range(150):
            base = f"http://127.0.0.1:{ports[i % 2]}/ocs/v2.php/taskprocessing"
            resp = await http.post(f"{base}/schedule?format=json", headers=users[i % 2], json={
                "type": TYPES[i % 2], "appId": "load", "input": {"input": f"t{i}"}})
            assert resp.status == 200, await resp.text()
            tid = int((await resp.json())["ocs"]["data"]["task"]["id"])
            ids.append(tid)
            if i % 10 == 3:
                assert (await http.post(f"{base}/tasks/{tid}/cancel?format=json",
                                        headers=users[i % 2])).status == 200
                cancelled.add(tid)
            elif i % 15 == 7:
                assert (await http.delete(f"{base}/task/{tid}?format=json",
                                          headers=users[i % 2])).status == 200
                deleted.add(tid)
            if i == 60:
                window = await _kill(victim, redis, keys)
                await processes.start("tests.support.run_dispatcher", *kinds, **ENV)
        fpm = await (await http.get(f"http://127.0.0.1:{fp}/metrics")).text()
    assert 'taskproc_role_info{role="fileproxy"} 1.0' in fpm
    finals = {}
    for tid in ids:
        if tid not in deleted:
            try:
                finals[tid] = (await wait_for_status(redis, keys, tid, timeout=20)).status
            except TimeoutError:
                raise AssertionError(f"task {tid} not final: "
                                     f"{await redis.hgetall(keys.task(tid))}") from None
    assert all([await TaskStore(redis, keys).get(t) is None for t in deleted])
    runs = {int(k): int(v) for k, v in (await redis.hgetall(f"{keys.p}:test:completed")).items()}
    twice = {t for t, n in runs.items() if n > 1}
    assert twice <= window, f"ran to completion twice: {twice - window}"
    assert all(finals[t] is Status.CANCELLED for t in cancelled if t in finals)
    successful = [t for t, s in finals.items() if s is Status.SUCCESSFUL]
    assert len(successful) == len(ids) - len(cancelled) - len(deleted)
    assert all(runs.get(t, 0) >= 1 for t in successful)


async def _kill(victim: RoleProcess, redis: Any, keys: Any) -> set[int]:
    """Wait until the victim runs a task, freeze it, note the tasks whose provider already
    finished but whose result is not stored (a crash there means a legitimate second run), then
    SIGKILL it."""
    owner = f":{victim.pid}:"
    async with redis.pubsub() as ps:
        await ps.subscribe(keys.chan_task)
        async with asyncio.timeout(20):
            while not await _holds(redis, keys, owner):
                await ps.get_message(ignore_subscribe_messages=True, timeout=0.5)
    victim.send_signal(signal.SIGSTOP)
    runs = await redis.hgetall(f"{keys.p}:test:completed")
    window = {int(t) for t in runs if owner in (await redis.hget(keys.task(int(t)),
                                                                  "leaseOwner") or b"").decode()}
    await victim.stop(signal.SIGKILL)
    return window


async def _holds(redis: Any, keys: Any, owner: str) -> bool:
    for tid in await redis.zrange(keys.leases, 0, -1):
        if owner in (await redis.hget(keys.task(int(tid)), "leaseOwner") or b"").decode():
            return True
    return False
