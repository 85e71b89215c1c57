"""What the bridge tests share: two taskprocs on loopback, an upstream standing in for
Nextcloud (key prefix `up`, the same OCS, AppAPI and provider routes), and the local cluster
(prefix `tp`: test dispatchers and the bridge processes under test). Every process is started
for real and killed when `running_cluster` (the `cluster` fixture) ends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from services.embedded import free_port
from shared.accounts import ExAppStore, UserStore
from shared.keys import Keys
from shared.settings import Settings
from tests.support.exapp_auth import exapp_headers
from tests.support.ocs import V2, basic
from tests.support.waits import answers_ok, ready_line, until
from tests.support.waits import wait_for_status as wait_status

ROOT = str(Path(__file__).resolve().parents[2])
UP = Keys("up")
APP_ID = "taskproc"
DISPATCHER_KINDS = ("echo:core:text2text", "count:core:text2text:headline",
                    "hold:core:text2text:summary", "transcribe", "speak")
"""Local providers: echo, counted runs, one that holds until cancelled, file in, file out."""


@dataclass
class Cluster:
    settings: Settings
    tmp: Path
    upstream_url: str
    secret: str
    alice: dict[str, str]
    env: dict[str, str]
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    drains: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def nextcloud_headers(self) -> dict[str, str]:
        """What AppAPI sends to an ExApp."""
        return exapp_headers(APP_ID, self.secret)

    async def spawn(self, *argv: str, **extra: str) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", *argv, cwd=ROOT, env=self.env | extra,
            stderr=asyncio.subprocess.PIPE)
        self.procs.append(proc)
        return proc

    def drain(self, proc: asyncio.subprocess.Process) -> None:
        self.drains.append(asyncio.create_task(_drain(proc)))

    async def upstream(self) -> asyncio.subprocess.Process:
        """(Re)start the upstream on its port; its state lives in Redis."""
        proc = await self.spawn("tests.support.run_upstream", TASKPROC_KEY_PREFIX="up",
                                TASKPROC_API_PORT=self.upstream_url.rsplit(":", 1)[1],
                                TASKPROC_FILES_DIR=str(self.tmp / "upstream-files"))
        self.drain(proc)
        await until(lambda: answers_ok(f"{self.upstream_url}/readyz"), timeout=30)
        return proc

    async def bridge(self, enable: bool = True,
                     **extra: str) -> tuple[asyncio.subprocess.Process, str]:
        """Start a bridge; returns it and its ExApp base URL once /readyz says ready."""
        port = free_port()
        proc = await self.spawn("services.cli", "bridge", TASKPROC_BRIDGE__PORT=str(port),
                                **extra)
        self.drain(proc)
        base = f"http://127.0.0.1:{port}"
        await until(lambda: answers_ok(f"{base}/readyz"), timeout=30)
        if enable:
            async with aiohttp.ClientSession() as http:
                resp = await http.put(f"{base}/enabled?enabled=1", headers=self.nextcloud_headers)
                assert resp.status == 200 and (await resp.json()) == {"error": ""}
        return proc, base


async def _drain(proc: asyncio.subprocess.Process) -> None:
    assert proc.stderr is not None
    while await proc.stderr.readline():
        pass


@contextlib.asynccontextmanager
async def running_cluster(settings: Settings, tmp_path: Path,
                          redis: Redis) -> AsyncIterator[Cluster]:
    """The upstream and a local dispatcher on `settings.redis_url`; no bridge yet."""
    up_port = free_port()
    env = dict(os.environ, PYTHONPATH=ROOT, TASKPROC_REDIS_URL=settings.redis_url,
               TASKPROC_TASKTYPES_CACHE_SECONDS="0", TASKPROC_DISPATCHER_METRICS_PORT="-1",
               TASKPROC_PROVIDER_HEARTBEAT_SECONDS="1", TASKPROC_LEASE_SECONDS="1",
               TASKPROC_RATE_LIMITS__SCHEDULE_USER="")
    secret = await ExAppStore(redis, UP).add(APP_ID)
    password = await UserStore(redis, UP).add("alice")
    local = {"TASKPROC_KEY_PREFIX": "tp", "TASKPROC_FILES_DIR": str(tmp_path / "local-files"),
             "TASKPROC_BRIDGE__NEXTCLOUD_URL": f"http://127.0.0.1:{up_port}",
             "TASKPROC_BRIDGE__APP_ID": APP_ID, "TASKPROC_BRIDGE__APP_SECRET": secret,
             "TASKPROC_BRIDGE__LEASE_SECONDS": "2", "TASKPROC_BRIDGE__PROGRESS_INTERVAL": "0.2",
             "TASKPROC_BRIDGE__WAIT_SECONDS": "5"}
    c = Cluster(settings, tmp_path, f"http://127.0.0.1:{up_port}", secret,
                basic("alice", password), env | local)
    try:
        await c.upstream()
        dispatcher = await c.spawn("tests.support.run_dispatcher", *DISPATCHER_KINDS)
        await ready_line(dispatcher)
        c.drain(dispatcher)
        yield c
    finally:
        for p in c.procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        for d in c.drains:
            d.cancel()
        await asyncio.gather(*c.drains, return_exceptions=True)


async def metric(base: str, name: str) -> float:
    """One sample of the bridge's /metrics (0 when absent)."""
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as resp:
        for line in (await resp.text()).splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


async def upstream_ocs(c: Cluster, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.request(
            method, f"{c.upstream_url}{V2}{path}",
            params={"format": "json"}, headers=c.alice, **kw) as resp:
        body = await resp.json(content_type=None) if resp.status != 204 else None
        return resp.status, body


LOCAL = Keys("tp")


async def schedule(c: Cluster, task_type: str, inputs: dict[str, Any]) -> int:
    status, body = await upstream_ocs(c, "POST", "/schedule", json={
        "type": task_type, "appId": "tests", "input": inputs})
    assert status == 200, body
    return int(body["ocs"]["data"]["task"]["id"])


async def final(redis: Redis, task_id: int, timeout: float = 30) -> dict[str, Any]:
    await wait_status(redis, UP, task_id, timeout=timeout)
    return (await upstream_task(redis, task_id))


async def upstream_task(redis: Redis, task_id: int) -> dict[str, Any]:
    raw = await redis.hgetall(UP.task(task_id))
    return {k.decode(): v.decode() for k, v in raw.items()}


async def nothing_held(redis: Redis) -> bool:
    return await redis.zcard(LOCAL.bridge_leases) == 0
