"""Redis goes away under real processes: killed and restarted, not up yet, frozen (SIGSTOP).

Dispatchers ride it out and take work again by themselves; the api and fileproxy answer 503
with Retry-After meanwhile (one log line per outage); a stall longer than the lease re-runs
nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from services.embedded import free_port
from shared.accounts import UserStore
from shared.keys import Keys
from shared.settings import Settings
from shared.tasks import Status
from tests.support.ocs import V1, V2, basic, scheduled_id
from tests.support.outage import RestartableRedis, http_status
from tests.support.processes import Processes, RoleProcess, http_ready, line_ready
from tests.support.waits import wait_for_status

ENV = {"TASKPROC_LEASE_SECONDS": "1", "TASKPROC_PROVIDER_HEARTBEAT_SECONDS": "1",
       "TASKPROC_TASKTYPES_CACHE_SECONDS": "0", "TASKPROC_DISPATCHER_FALLBACK_POLL": "0.5",
       "TASKPROC_DISPATCHER_METRICS_PORT": "-1", "TASKPROC_REDIS_SOCKET_TIMEOUT": "0.5",
       "TASKPROC_REDIS_CONNECT_TIMEOUT": "0.5", "TASKPROC_RATE_LIMITS__SCHEDULE_USER": ""}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RestartableRedis]:
    redis = RestartableRedis(tmp_path / "redis")
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
async def roles(tmp_path: Path, server: RestartableRedis) -> AsyncIterator[Processes]:
    procs = Processes(Settings(redis_url=server.url, files_dir=tmp_path / "files"), **ENV)
    yield procs
    await procs.stop_all()


@pytest.fixture
async def client(server: RestartableRedis) -> AsyncIterator[Redis]:
    redis = Redis.from_url(server.url)
    yield redis
    await redis.aclose()


def log_of(proc: RoleProcess) -> str:
    return b"".join(proc.lines).decode(errors="replace")


async def _api(roles: Processes) -> tuple[RoleProcess, str]:
    port = free_port()
    proc = await roles.start("services.cli", "api", ready=http_ready(port),
                             TASKPROC_API_PORT=str(port))
    return proc, f"http://127.0.0.1:{port}"


async def _schedule(base: str, headers: dict[str, str], text: str) -> int:
    async with aiohttp.ClientSession(base) as http:
        return await scheduled_id(http, headers, text)


async def test_dispatcher_survives_a_redis_restart(server: RestartableRedis, roles: Processes,
                                                   client: Redis) -> None:
    server.start()
    keys = Keys("tp")
    alice = basic("alice", await UserStore(client, keys).add("alice"))
    health = free_port()
    dispatcher = await roles.start("tests.support.run_dispatcher", "echo",
                                   TASKPROC_DISPATCHER_METRICS_PORT=str(health))
    _, base = await _api(roles)
    server.kill()
    await http_status(f"http://127.0.0.1:{health}/readyz", 503)  # not ready meanwhile
    server.start()
    await http_status(f"http://127.0.0.1:{health}/readyz", 200)
    tid = await _schedule(base, alice, "after the restart")
    task = await wait_for_status(client, keys, tid)
    assert task.status is Status.SUCCESSFUL and task.output == {"output": "AFTER THE RESTART"}
    assert dispatcher.returncode is None
    log = log_of(dispatcher)
    assert log.count("Redis unreachable") == 1 and "Redis reachable again" in log
    assert "Traceback" not in log


async def test_dispatcher_started_before_redis_waits_for_it(
        server: RestartableRedis, roles: Processes, client: Redis) -> None:
    health = free_port()
    dispatcher = await roles.start("tests.support.run_dispatcher", "echo",
                                   ready=line_ready(b"Redis unreachable"),
                                   TASKPROC_DISPATCHER_METRICS_PORT=str(health))
    await http_status(f"http://127.0.0.1:{health}/readyz", 503)
    assert dispatcher.returncode is None
    server.start()
    await dispatcher.wait_ready(line_ready())
    keys = Keys("tp")
    alice = basic("alice", await UserStore(client, keys).add("alice"))
    _, base = await _api(roles)
    tid = await _schedule(base, alice, "late redis")
    task = await wait_for_status(client, keys, tid)
    assert task.status is Status.SUCCESSFUL and task.output == {"output": "LATE REDIS"}


async def _unavailable(http: aiohttp.ClientSession, method: str, url: str,
                       headers: dict[str, str]) -> None:
    async with http.request(method, url, headers=headers, json={
            "type": "core:text2text", "appId": "t", "input": {"input": "x"}}) as resp:
        body = await resp.json(content_type=None)
        assert resp.status == 503, (url, resp.status, body)
        assert resp.headers["Retry-After"] == "5"
        assert body["ocs"]["meta"]["statuscode"] == 503
        assert body["ocs"]["meta"]["message"] == "Service unavailable"


async def test_api_and_fileproxy_answer_503_while_redis_is_down(
        server: RestartableRedis, roles: Processes, client: Redis) -> None:
    server.start()
    alice = basic("alice", await UserStore(client, Keys("tp")).add("alice"))
    api_proc, api = await _api(roles)
    fp_port = free_port()
    fp_proc = await roles.start("services.cli", "fileproxy", ready=http_ready(fp_port),
                                TASKPROC_FILEPROXY_PORT=str(fp_port))
    fileproxy = f"http://127.0.0.1:{fp_port}"
    server.kill()
    requests: list[tuple[str, str]] = [
        ("GET", f"{api}{V2}/tasks?format=json"), ("GET", f"{api}{V1}/tasktypes?format=json"),
        ("POST", f"{api}{V2}/schedule?format=json"), ("GET", f"{api}{V2}/task/1?format=json"),
        ("GET", f"{fileproxy}{V2}/tasks/1/file/1?format=json")]
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            for method, url in requests:
                await _unavailable(http, method, url, alice)
        async with http.get(f"{api}/readyz") as ready:
            assert ready.status == 503
        server.start()
        await http_status(f"{api}/readyz", 200)
        async with http.get(f"{api}{V2}/tasks?format=json", headers=alice) as resp:
            assert resp.status == 200, await resp.text()
        await api_proc.wait_ready(line_ready(b"Redis reachable again"))
    for proc in (api_proc, fp_proc):
        await proc.stop()
        log = log_of(proc)
        assert log.count("Redis unreachable") == 1, log  # one line per outage
        assert "Traceback" not in log, log


async def test_lease_survives_a_stall_longer_than_the_lease(
        server: RestartableRedis, roles: Processes, client: Redis) -> None:
    """Redis frozen for 2.5 leases while a task runs: its holder keeps it, nothing re-runs."""
    server.start()
    keys = Keys("tp")
    alice = basic("alice", await UserStore(client, keys).add("alice"))
    workers = [await roles.start("tests.support.run_dispatcher", "count",  # either one claims,
                                 TEST_WORK_SECONDS="4") for _ in range(2)]  # both sweep
    _, base = await _api(roles)
    tid = await _schedule(base, alice, "stall")
    await wait_for_status(client, keys, tid, Status.RUNNING)
    server.pause()
    try:
        await _sleep_past_lease(2.5)
    finally:
        server.resume()
    task = await wait_for_status(client, keys, tid, timeout=30)
    assert task.status is Status.SUCCESSFUL, task.raw
    logs = "".join(log_of(w) for w in workers)
    assert (task.raw["attempt"], task.raw["gen"]) == ("1", "1"), f"{task.raw}\n{logs}"
    runs: dict[Any, Any] = await client.hgetall(f"{keys.p}:test:completed")  # type: ignore[misc]
    assert runs == {str(tid).encode(): b"1"}
    assert "lease expired" not in logs


async def _sleep_past_lease(seconds: float) -> None:
    """The stall itself: a fault's duration, not a wait for a state."""
    await asyncio.sleep(seconds)
