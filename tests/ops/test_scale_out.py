"""Scale-out: two api processes, three dispatchers and a fileproxy on one machine serve a mixed
load while one dispatcher is killed and replaced; every task ends final, none completes twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from services.embedded import free_port
from shared.settings import Settings
from shared.store import TaskStore
from shared.tasks import Status
from tests.conftest import wait_for_status
from tests.support.waits import ready_line

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TYPES = ("core:text2text", "core:text2text:summary")
Start = Callable[..., Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def start(settings: Settings) -> AsyncIterator[Start]:
    """`await start(*argv, ready=url or stderr marker)`: a role process, killed at teardown."""
    procs: list[asyncio.subprocess.Process] = []
    env = dict(os.environ, PYTHONPATH=ROOT, TASKPROC_REDIS_URL=settings.redis_url,
               TASKPROC_FILES_DIR=str(settings.files_dir), TASKPROC_LEASE_SECONDS="1",
               TASKPROC_PROVIDER_HEARTBEAT_SECONDS="1", TASKPROC_TASKTYPES_CACHE_SECONDS="0",
               TASKPROC_RATE_LIMITS__SCHEDULE_USER="", TASKPROC_DISPATCHER_METRICS_PORT="-1",
               TASKPROC_ORPHAN_AFTER_SECONDS="2")

    async def run(*argv: str, url: str = "", **extra: str) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", *argv, cwd=ROOT, env=env | extra,
            stderr=asyncio.subprocess.DEVNULL if url else asyncio.subprocess.PIPE)
        procs.append(proc)
        if url:
            async with asyncio.timeout(30):
                await _ready(url)
        else:
            await ready_line(proc)
        return proc

    yield run
    for p in procs:
        if p.returncode is None:
            p.kill()
            await p.wait()


async def _ready(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        while True:  # bounded by the caller's timeout: a process we just started
            try:
                if (await http.get(url)).status == 200:
                    return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


async def _drain(proc: asyncio.subprocess.Process) -> None:
    assert proc.stderr is not None
    while await proc.stderr.readline():
        pass


async def test_mixed_load_survives_a_killed_dispatcher(start: Start, make_user: Any,
                                                       redis: Any, keys: Any) -> None:
    ports = [free_port(), free_port()]
    for port in ports:
        await start("services.cli", "api", url=f"http://127.0.0.1:{port}/readyz",
                    TASKPROC_API_PORT=str(port))
    fp = free_port()
    await start("services.cli", "fileproxy", url=f"http://127.0.0.1:{fp}/readyz",
                TASKPROC_FILEPROXY_PORT=str(fp))
    kinds = [f"count:{t}" for t in TYPES]
    dispatchers = [await start("tests.support.run_dispatcher", *kinds) for _ in range(3)]
    drains = [asyncio.create_task(_drain(d)) for d in dispatchers]
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
                replacement = await start("tests.support.run_dispatcher", *kinds)
                drains.append(asyncio.create_task(_drain(replacement)))
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
    for d in drains:
        d.cancel()
    await asyncio.gather(*drains, return_exceptions=True)


async def _kill(victim: asyncio.subprocess.Process, redis: Any, keys: Any) -> set[int]:
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
    victim.kill()
    await victim.wait()
    return window


async def _holds(redis: Any, keys: Any, owner: str) -> bool:
    for tid in await redis.zrange(keys.leases, 0, -1):
        if owner in (await redis.hget(keys.task(int(tid)), "leaseOwner") or b"").decode():
            return True
    return False
