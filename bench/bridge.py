"""(e) The bridge's added latency: a no-op task scheduled on an upstream that stands in for
Nextcloud (a second taskproc serving the same routes) and run by the local cluster through
the bridge, against the same no-op task scheduled directly on the local cluster. Both are
timed from the schedule request to the SUCCESSFUL event on the scheduling server."""

from __future__ import annotations

import asyncio
import base64
import tempfile
import time
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from bench.procs import free_port, median, pct, private_redis, spawn, stop, wait_http
from services.bridge.upstream import appapi_headers
from shared.accounts import ExAppStore, UserStore
from shared.keys import Keys
from shared.settings_bridge import BridgeSettings

SAMPLES = 40
BODY = {"type": "core:text2text", "appId": "bench", "input": {"input": "hello"}}


async def _user(r: aioredis.Redis, prefix: str) -> dict[str, str]:
    password = await UserStore(r, Keys(prefix)).add("bench")
    token = base64.b64encode(f"bench:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "OCS-APIRequest": "true"}


async def _timed(http: aiohttp.ClientSession, r: aioredis.Redis, port: int, prefix: str,
                 headers: dict[str, str]) -> list[float]:
    """SAMPLES sequential tasks: ms from the schedule request to the SUCCESSFUL event."""
    out = []
    url = f"http://127.0.0.1:{port}/ocs/v2.php/taskprocessing/schedule?format=json"
    async with r.pubsub() as ps:
        await ps.subscribe(f"{prefix}:chan:task")
        for _ in range(SAMPLES):
            t0 = time.perf_counter()
            async with http.post(url, json=BODY, headers=headers) as resp:
                assert resp.status == 200, await resp.text()
                tid = (await resp.json())["ocs"]["data"]["task"]["id"]
            want = f"{tid} STATUS_SUCCESSFUL".encode()
            async with asyncio.timeout(30):
                while (await ps.get_message(ignore_subscribe_messages=True, timeout=5) or
                       {}).get("data") != want:
                    pass
            out.append((time.perf_counter() - t0) * 1000)
    return out


def _report(direct: list[float], bridged: list[float]) -> None:
    d50, b50 = median(direct), median(bridged)
    print(f"  direct on taskproc:   p50 {d50:7.1f} ms  p99 {pct(direct, 99):7.1f} ms")
    print(f"  through the bridge:   p50 {b50:7.1f} ms  p99 {pct(bridged, 99):7.1f} ms")
    print(f"  added by the bridge:  p50 {b50 - d50:7.1f} ms  ({b50 / d50:.2f}x direct)")


async def _bench(url: str, tmp: str) -> tuple[list[float], list[float]]:
    ports = {"up": free_port(), "local": free_port(), "bridge": free_port()}
    r = aioredis.Redis.from_url(url)
    secret = await ExAppStore(r, Keys("up")).add("taskproc")
    base = {"TASKPROC_REDIS_URL": url, "TASKPROC_RATE_LIMITS__SCHEDULE_USER": "",
            "TASKPROC_DISPATCHER_METRICS_PORT": "-1"}
    procs = [
        spawn(["-m", "tests.support.run_upstream"], base | {
            "TASKPROC_KEY_PREFIX": "up", "TASKPROC_API_PORT": str(ports["up"]),
            "TASKPROC_FILES_DIR": f"{tmp}/up"}),
        spawn(["-m", "services.cli", "api"], base | {"TASKPROC_API_PORT": str(ports["local"])}),
        spawn(["-m", "tests.support.run_dispatcher", "noop:core:text2text"], base),
        spawn(["-m", "services.cli", "bridge"], base | {
            "TASKPROC_BRIDGE__NEXTCLOUD_URL": f"http://127.0.0.1:{ports['up']}",
            "TASKPROC_BRIDGE__APP_SECRET": secret,
            "TASKPROC_BRIDGE__PORT": str(ports["bridge"]), "TASKPROC_FILES_DIR": f"{tmp}/tp"}),
    ]
    try:
        for name in ("up", "local", "bridge"):
            await asyncio.to_thread(wait_http, ports[name], "/readyz")
        await _enable(ports["bridge"], secret, r)
        async with aiohttp.ClientSession() as http:
            direct = await _timed(http, r, ports["local"], "tp", await _user(r, "tp"))
            bridged = await _timed(http, r, ports["up"], "up", await _user(r, "up"))
        return direct, bridged
    finally:
        stop(*procs)
        await r.aclose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, private_redis(Path(tmp)) as url:
        direct, bridged = asyncio.run(_bench(url, tmp))
    print(f"(e) bridge latency, {SAMPLES} sequential no-op tasks, upstream = a taskproc")
    _report(direct, bridged)


async def _enable(port: int, secret: str, r: aioredis.Redis) -> None:
    """What AppAPI does on enable; then wait until the upstream lists the bridge's provider."""
    headers = appapi_headers(BridgeSettings(app_id="taskproc", app_secret=secret))
    async with aiohttp.ClientSession() as http:
        async with asyncio.timeout(30):
            while True:  # the dispatcher's provider may not be registered locally yet
                async with http.put(f"http://127.0.0.1:{port}/enabled?enabled=1",
                                    headers=headers) as resp:
                    assert resp.status == 200
                if await r.hexists("up:providers", "taskproc-core:text2text"):
                    return
                await asyncio.sleep(0.2)


if __name__ == "__main__":
    main()
