"""Redis goes away under real processes: killed and restarted, not up yet, frozen (SIGSTOP).

Dispatchers ride it out and take work again by themselves; the api and fileproxy answer 503
with Retry-After meanwhile (one log line per outage); a stall longer than the lease re-runs
nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from services.embedded import free_port
from shared.accounts import UserStore
from shared.keys import Keys
from shared.tasks import Status
from tests.conftest import basic, wait_for_status
from tests.support.outage import RestartableRedis, Roles, http_status

V2 = "/ocs/v2.php/taskprocessing"
V1 = "/ocs/v1.php/taskprocessing"
READY = "ready with providers"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RestartableRedis]:
    redis = RestartableRedis(tmp_path / "redis")
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def roles(tmp_path: Path, server: RestartableRedis) -> Iterator[Roles]:
    procs = Roles(tmp_path, {
        "TASKPROC_REDIS_URL": server.url, "TASKPROC_FILES_DIR": str(tmp_path / "files"),
        "TASKPROC_LEASE_SECONDS": "1", "TASKPROC_PROVIDER_HEARTBEAT_SECONDS": "1",
        "TASKPROC_TASKTYPES_CACHE_SECONDS": "0", "TASKPROC_DISPATCHER_FALLBACK_POLL": "0.5",
        "TASKPROC_DISPATCHER_METRICS_PORT": "-1", "TASKPROC_REDIS_SOCKET_TIMEOUT": "0.5",
        "TASKPROC_REDIS_CONNECT_TIMEOUT": "0.5", "TASKPROC_RATE_LIMITS__SCHEDULE_USER": ""})
    try:
        yield procs
    finally:
        procs.stop()


@pytest.fixture
async def client(server: RestartableRedis) -> AsyncIterator[Redis]:
    redis = Redis.from_url(server.url)
    yield redis
    await redis.aclose()


async def _api(roles: Roles, name: str = "api") -> str:
    port = free_port()
    roles.start(name, "services.cli", "api", TASKPROC_API_PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    await http_status(f"{base}/readyz", 200)
    return base


async def _schedule(http: aiohttp.ClientSession, base: str, headers: dict[str, str],
                    text: str) -> int:
    async with http.post(f"{base}{V2}/schedule?format=json", headers=headers, json={
            "type": "core:text2text", "appId": "t", "input": {"input": text}}) as resp:
        assert resp.status == 200, await resp.text()
        return int((await resp.json())["ocs"]["data"]["task"]["id"])


async def test_dispatcher_survives_a_redis_restart(server: RestartableRedis, roles: Roles,
                                                   client: Redis) -> None:
    server.start()
    keys = Keys("tp")
    alice = basic("alice", await UserStore(client, keys).add("alice"))
    health = free_port()
    dispatcher = roles.start("dispatcher", "tests.support.run_dispatcher", "echo",
                             TASKPROC_DISPATCHER_METRICS_PORT=str(health))
    await roles.wait_log("dispatcher", READY)
    base = await _api(roles)
    server.kill()
    await http_status(f"http://127.0.0.1:{health}/readyz", 503)  # not ready meanwhile
    server.start()
    await http_status(f"http://127.0.0.1:{health}/readyz", 200)
    async with aiohttp.ClientSession() as http:
        tid = await _schedule(http, base, alice, "after the restart")
    task = await wait_for_status(client, keys, tid)
    assert task.status is Status.SUCCESSFUL and task.output == {"output": "AFTER THE RESTART"}
    assert dispatcher.poll() is None
    log = roles.log("dispatcher")
    assert log.count("Redis unreachable") == 1 and "Redis reachable again" in log
    assert "Traceback" not in log


async def test_dispatcher_started_before_redis_waits_for_it(
        server: RestartableRedis, roles: Roles, client: Redis) -> None:
    health = free_port()
    dispatcher = roles.start("dispatcher", "tests.support.run_dispatcher", "echo",
                             TASKPROC_DISPATCHER_METRICS_PORT=str(health))
    await http_status(f"http://127.0.0.1:{health}/readyz", 503)
    await roles.wait_log("dispatcher", "Redis unreachable")
    assert dispatcher.poll() is None
    server.start()
    await roles.wait_log("dispatcher", READY)
    keys = Keys("tp")
    alice = basic("alice", await UserStore(client, keys).add("alice"))
    base = await _api(roles)
    async with aiohttp.ClientSession() as http:
        tid = await _schedule(http, base, alice, "late redis")
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
        server: RestartableRedis, roles: Roles, client: Redis) -> None:
    server.start()
    alice = basic("alice", await UserStore(client, Keys("tp")).add("alice"))
    api = await _api(roles)
    fp_port = free_port()
    roles.start("fileproxy", "services.cli", "fileproxy", TASKPROC_FILEPROXY_PORT=str(fp_port))
    fileproxy = f"http://127.0.0.1:{fp_port}"
    await http_status(f"{fileproxy}/readyz", 200)
    server.kill()
    requests: list[tuple[str, str]] = [
        ("GET", f"{api}{V2}/tasks?format=json"), ("GET", f"{api}{V1}/tasktypes?format=json"),
        ("POST", f"{api}{V2}/schedule?format=json"), ("GET", f"{api}{V2}/task/1?format=json"),
        ("GET", f"{fileproxy}{V2}/tasks/1/file/1?format=json")]
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            for method, url in requests:
                await _unavailable(http, method, url, alice)
        assert (await http.get(f"{api}/readyz")).status == 503
        server.start()
        await http_status(f"{api}/readyz", 200)
        async with http.get(f"{api}{V2}/tasks?format=json", headers=alice) as resp:
            assert resp.status == 200, await resp.text()
        await roles.wait_log("api", "Redis reachable again")
    roles.stop("api", "fileproxy")
    for name in ("api", "fileproxy"):
        log = roles.log(name)
        assert log.count("Redis unreachable") == 1, log  # one line per outage
        assert "Traceback" not in log, log


async def test_lease_survives_a_stall_longer_than_the_lease(
        server: RestartableRedis, roles: Roles, client: Redis) -> None:
    """Redis frozen for 2.5 leases while a task runs: its holder keeps it, nothing re-runs."""
    server.start()
    keys = Keys("tp")
    alice = basic("alice", await UserStore(client, keys).add("alice"))
    for name in ("one", "two"):  # whichever claims the task, the other sweeps leases too
        roles.start(name, "tests.support.run_dispatcher", "count", TEST_WORK_SECONDS="4")
    for name in ("one", "two"):
        await roles.wait_log(name, READY)
    base = await _api(roles)
    async with aiohttp.ClientSession() as http:
        tid = await _schedule(http, base, alice, "stall")
    await wait_for_status(client, keys, tid, Status.RUNNING)
    server.pause()
    try:
        await _sleep_past_lease(2.5)
    finally:
        server.resume()
    task = await wait_for_status(client, keys, tid, timeout=30)
    assert task.status is Status.SUCCESSFUL, task.raw
    logs = roles.log("one") + roles.log("two")
    assert (task.raw["attempt"], task.raw["gen"]) == ("1", "1"), f"{task.raw}\n{logs}"
    runs: dict[Any, Any] = await client.hgetall(f"{keys.p}:test:completed")  # type: ignore[misc]
    assert runs == {str(tid).encode(): b"1"}
    assert "lease expired" not in logs


async def _sleep_past_lease(seconds: float) -> None:
    """The stall itself: a fault's duration, not a wait for a state."""
    import asyncio
    await asyncio.sleep(seconds)
