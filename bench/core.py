"""Core benchmarks (issue 2 §14), each beside a baseline measured in the same run.

(a) /schedule throughput and latency: taskproc's api vs a bare aiohttp handler doing one
    Redis write; (b) pickup latency schedule -> provider start vs stock arq (default settings);
(c) no-op task throughput with two dispatcher processes vs two stock arq workers;
(d) Redis commands per task lifecycle, for both: the commands clients send (seen with MONITOR,
    pipelines counted per command) and all commands including those run inside Lua scripts.
"""

from __future__ import annotations

import asyncio
import base64
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from arq.connections import ArqRedis, RedisSettings, create_pool

from bench.procs import free_port, median, pct, private_redis, spawn, stop, wait_http, wait_key
from shared.accounts import UserStore
from shared.keys import Keys
from shared.provider_spec import ProviderSpec
from shared.registry import ProviderRegistry
from shared.store import TaskStore

RUNS, REQUESTS, CONCURRENCY = 3, 2000, 32
SAMPLES, NOOP_TASKS = 60, 2000
BODY = {"type": "core:text2text", "appId": "bench", "input": {"input": "hello"}}


def env(url: str, **extra: str) -> dict[str, str]:
    return {"TASKPROC_REDIS_URL": url, "TASKPROC_RATE_LIMITS__SCHEDULE_USER": "",
            "TASKPROC_LEASE_SECONDS": "5",
            # the caps stay on (their cost is measured) but out of reach of 3 x 2000 schedules
            "TASKPROC_MAX_LIVE_TASKS_PER_USER": "100000", "TASKPROC_MAX_QUEUE_DEPTH": "100000",
            **extra}


async def load(url: str, headers: dict[str, str]) -> tuple[float, list[float]]:
    """REQUESTS POSTs with CONCURRENCY in flight: (requests/s, latencies in ms)."""
    lat: list[float] = []
    todo = iter(range(REQUESTS))
    async with aiohttp.ClientSession(headers=headers) as s:
        async def client() -> None:
            for _ in todo:
                t0 = time.perf_counter()
                async with s.post(url, json=BODY) as r:
                    await r.read()
                    assert r.status == 200, r.status
                lat.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        return REQUESTS / (time.perf_counter() - t0), lat


async def prepare(url: str) -> dict[str, str]:
    r = aioredis.Redis.from_url(url)
    keys = Keys()
    pw = await UserStore(r, keys).add("bench")
    await ProviderRegistry(r, keys).register(
        ProviderSpec(id="bench:stamp", name="stamp", task_type="core:text2text"), 3600)
    await r.aclose()
    token = base64.b64encode(f"bench:{pw}".encode()).decode()
    return {"Authorization": f"Basic {token}", "OCS-APIRequest": "true"}


async def bench_schedule(url: str) -> dict[str, Any]:
    headers = await prepare(url)
    api_port, bare_port = free_port(), free_port()
    procs = [spawn(["-m", "services.cli", "api"], env(url, TASKPROC_API_PORT=str(api_port))),
             spawn(["-m", "bench.bare"], env(url, BARE_PORT=str(bare_port)))]
    try:
        wait_http(api_port), wait_http(bare_port)
        ours, base = [], []
        for _ in range(RUNS):  # interleaved so noise hits both alike
            ours.append(await load(f"http://127.0.0.1:{api_port}/ocs/v2.php/taskprocessing/"
                                   "schedule?format=json", headers))
            base.append(await load(f"http://127.0.0.1:{bare_port}/schedule", {}))
    finally:
        stop(*procs)
    return {"ours": summarize(ours), "base": summarize(base)}


def summarize(runs: list[tuple[float, list[float]]]) -> dict[str, float]:
    lat = [x for _, ls in runs for x in ls]
    return {"rps": median([r for r, _ in runs]), "p50": pct(lat, 50), "p99": pct(lat, 99)}


async def pickup(url: str, enqueue: Any) -> list[float]:
    """SAMPLES sequential enqueues at random phase: ms from enqueue to provider start."""
    r = aioredis.Redis.from_url(url)
    out = []
    for _ in range(SAMPLES):
        await asyncio.sleep(random.uniform(0.0, 0.6))  # random phase against poll timers
        await r.delete("bench:start")
        t0 = time.time()
        ident = await enqueue()
        while (ts := await r.hget("bench:start", str(ident))) is None:  # type: ignore[misc]
            await asyncio.sleep(0.0005)
        out.append((float(ts) - t0) * 1000)
    await r.aclose()
    return out


async def bench_pickup(url: str) -> dict[str, Any]:
    r = aioredis.Redis.from_url(url)
    store = TaskStore(r, Keys())
    d = spawn(["-m", "bench.workers", "dispatcher"], env(url))
    wait_key(url, "tp:providers:alive")

    async def ours() -> int:
        t = await store.schedule(task_type="core:text2text", user_id="bench", app_id="b",
                                 custom_id="", inputs={"input": "x"}, webhook_uri=None,
                                 webhook_method=None, include_watermark=True,
                                 expected_runtime=1)
        return t.id
    try:
        mine = await pickup(url, ours)
    finally:
        stop(d)
    pool: ArqRedis = await create_pool(RedisSettings.from_dsn(url))
    w = spawn(["-m", "bench.workers", "arq"], env(url))
    wait_key(url, "arq:queue:health-check")
    counter = iter(range(10**6))

    async def stock() -> int:
        n = next(counter)
        await pool.enqueue_job("stamp", n)
        return n
    try:
        theirs = await pickup(url, stock)
    finally:
        stop(w)
        await pool.aclose()
        await r.aclose()
    return {"ours": mine, "base": theirs}


async def count_commands(url: str, enqueue: Any, queues: list[str],
                         n: int = 200) -> dict[str, Any]:
    """Commands per task over n tasks, from MONITOR: `sent` by clients, `all` including those
    run inside Lua scripts, `by_name` (sent, inside) per command; and `usec`, the Redis CPU time
    per task: each command sent at its type's mean time in INFO commandstats, measured over
    another n tasks without MONITOR (a script's time includes the commands inside it, which
    are not counted again).

    The commands of the client that waits for the queue to drain are left out.
    """
    monitor, waiter = aioredis.Redis.from_url(url), aioredis.Redis.from_url(url)
    skip = str((await waiter.client_info())["addr"])
    sent: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    async with monitor.monitor() as mon:
        async def tally() -> None:
            async for cmd in mon.listen():
                addr = f"{cmd.get('client_address')}:{cmd.get('client_port')}"
                name = cmd["command"].split(" ", 1)[0].upper()
                if cmd["client_type"] == "lua":
                    inside[name] += 1
                elif addr != skip and name != "MONITOR":
                    sent[name] += 1
        counter = asyncio.create_task(tally())
        for i in range(n):
            await enqueue(i)
        await drain(waiter, queues)
        await waiter.ping()  # a last command of ours: MONITOR has shown everything before it
        await asyncio.sleep(0.2)
        counter.cancel()
    await monitor.aclose()
    per_call = await _mean_usec(waiter, enqueue, queues, n)
    await waiter.aclose()
    usec = sum(per_call.get(name, 0.0) * c for name, c in sent.items())
    return {"sent": sum(sent.values()) / n, "all": (sum(sent.values()) + sum(inside.values())) / n,
            "usec": usec / n, "server_usec": per_call["(server)"],
            "by_name": {k: (sent[k] / n, inside[k] / n) for k in sorted(set(sent) | set(inside))}}


async def _mean_usec(r: aioredis.Redis, enqueue: Any, queues: list[str],
                     n: int) -> dict[str, float]:
    """Mean Redis CPU time per call of each command over n more tasks (INFO commandstats),
    and under "(server)" the server's whole CPU time per task (INFO cpu: also the network
    work every round trip costs, which commandstats leaves out; the drain poll included)."""
    await r.config_resetstat()
    before = await r.info("cpu")
    for i in range(n):
        await enqueue(i)
    await drain(r, queues)
    after, stats = await r.info("cpu"), await r.info("commandstats")
    out = {k.removeprefix("cmdstat_").split("|")[0].upper(): float(v["usec_per_call"])
           for k, v in stats.items()}
    out["(server)"] = sum(after[k] - before[k] for k in ("used_cpu_user", "used_cpu_sys")) \
        * 1e6 / n
    return out


async def drain(r: aioredis.Redis, keys: list[str]) -> None:
    """Wait until every key is an empty ZSET (one round trip per check)."""
    while True:
        async with r.pipeline(transaction=False) as pipe:
            for k in keys:
                pipe.zcard(k)
            if sum(await pipe.execute()) == 0:
                return
        await asyncio.sleep(0.01)


async def run_burst(url: str, enqueue: Any, queues: list[str]) -> float:
    """Enqueue NOOP_TASKS with 16 producers; tasks/s until drained."""
    r = aioredis.Redis.from_url(url)
    todo = iter(range(NOOP_TASKS))
    t0 = time.perf_counter()

    async def producer() -> None:
        for n in todo:
            await enqueue(n)
    await asyncio.gather(*(producer() for _ in range(16)))
    await drain(r, queues)
    elapsed = time.perf_counter() - t0
    await r.aclose()
    return NOOP_TASKS / elapsed


async def bench_throughput(url: str, parts: str = "cd") -> dict[str, Any]:
    """(c) burst throughput and (d) commands per task, ours then stock arq's."""
    r = aioredis.Redis.from_url(url)
    await r.flushdb()
    store, keys = TaskStore(r, Keys()), Keys()
    ds = [spawn(["-m", "bench.workers", "dispatcher"], env(url)) for _ in range(2)]
    wait_key(url, "tp:providers:alive")

    async def ours(n: int) -> None:
        await store.schedule(task_type="core:text2text:summary", user_id="bench", app_id="b",
                             custom_id="", inputs={"input": "x"}, webhook_uri=None,
                             webhook_method=None, include_watermark=True, expected_runtime=1)
    queues = [keys.scheduled("core:text2text:summary"), keys.leases, keys.queue]
    out: dict[str, Any] = {}
    try:
        if "c" in parts:
            out["ours"] = await run_burst(url, ours, queues)
        if "d" in parts:
            out["ours_cmds"] = await count_commands(url, ours, queues)
    finally:
        stop(*ds)
    await r.flushdb()
    pool: ArqRedis = await create_pool(RedisSettings.from_dsn(url))
    ws = [spawn(["-m", "bench.workers", "arq"], env(url)) for _ in range(2)]
    wait_key(url, "arq:queue:health-check")

    async def stock(n: int) -> None:
        await pool.enqueue_job("noop", n)
    try:
        if "c" in parts:
            out["base"] = await run_burst(url, stock, ["arq:queue"])
        if "d" in parts:
            out["base_cmds"] = await count_commands(url, stock, ["arq:queue"])
    finally:
        stop(*ws)
        await pool.aclose()
        await r.aclose()
    return out


def report_schedule(a: dict[str, Any]) -> None:
    o, s = a["ours"], a["base"]
    print("(a) /schedule, one api process vs bare aiohttp + one Redis write "
          f"({RUNS}x{REQUESTS} requests, {CONCURRENCY} in flight, median of runs)")
    print(f"    taskproc api : {o['rps']:8.0f} req/s   p50 {o['p50']:6.2f} ms   p99 "
          f"{o['p99']:6.2f} ms")
    print(f"    bare handler : {s['rps']:8.0f} req/s   p50 {s['p50']:6.2f} ms   p99 "
          f"{s['p99']:6.2f} ms")
    print(f"    ratio        : {o['rps'] / s['rps']:.2f}x throughput of the bare handler")


def report_pickup(b: dict[str, Any]) -> None:
    mo, mt = b["ours"], b["base"]
    print(f"(b) pickup latency, schedule -> provider start ({SAMPLES} samples each)")
    print(f"    taskproc     : p50 {pct(mo, 50):7.2f} ms   p99 {pct(mo, 99):7.2f} ms")
    print(f"    stock arq    : p50 {pct(mt, 50):7.2f} ms   p99 {pct(mt, 99):7.2f} ms")
    print(f"    ratio        : {pct(mt, 50) / pct(mo, 50):.1f}x faster at p50")


def report_throughput(c: dict[str, Any], detail: bool = False) -> None:
    if "ours" in c:
        tr, ar = c["ours"], c["base"]
        print(f"(c) no-op throughput, {NOOP_TASKS} tasks, two worker processes each")
        print(f"    taskproc     : {tr:8.0f} tasks/s")
        print(f"    stock arq    : {ar:8.0f} jobs/s")
        print(f"    ratio        : {tr / ar:.2f}x")
    if "ours_cmds" not in c:
        return
    print("(d) Redis work per task lifecycle (200 tasks under MONITOR; idle polling included;"
          " CPU of 200 more: INFO commandstats, and INFO cpu for all the server did)")
    for who, m in (("taskproc", c["ours_cmds"]), ("stock arq", c["base_cmds"])):
        print(f"    {who:<13}: {m['sent']:6.1f} sent by clients, {m['all']:6.1f} with those "
              f"inside Lua scripts; Redis CPU {m['usec']:6.1f} us in commands, "
              f"{m['server_usec']:6.1f} us in all")
        if detail:
            for name, (snt, ins) in m["by_name"].items():
                print(f"        {name:<18} {snt:6.2f} sent {ins:6.2f} inside scripts")


async def main(parts: str = "abcd", detail: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp, private_redis(Path(tmp)) as url:
        if "a" in parts:
            a = await bench_schedule(url)
            r = aioredis.Redis.from_url(url)
            await r.flushdb()
            await r.aclose()
            report_schedule(a)
        if "b" in parts:
            report_pickup(await bench_pickup(url))
        if "c" in parts or "d" in parts:
            report_throughput(await bench_throughput(url, parts), detail)


if __name__ == "__main__":
    import argparse
    cli = argparse.ArgumentParser(prog="python -m bench.core",
                                  description="Core benchmarks; parts a b c d (default all).")
    cli.add_argument("parts", nargs="*", metavar="PART", help="a, b, c or d")
    cli.add_argument("--detail", action="store_true", help="(d) per command")
    ns = cli.parse_args()
    if set(ns.parts) - set("abcd"):
        cli.error(f"parts are a, b, c and d, not {' '.join(sorted(set(ns.parts) - set('abcd')))}")
    asyncio.run(main("".join(ns.parts) or "abcd", ns.detail))
