"""`make chaos`: real processes and a private Redis with AOF, broken on purpose under load.

    python -m bench.chaos [--tasks N] [--seed S] [--only standalone|failover]

Two scenarios, each with 2 api processes, 3 dispatchers and a fileproxy on loopback:
  standalone: dispatchers SIGKILLed at random, Redis SIGKILLed and restarted after 3 s, Redis
              frozen with SIGSTOP for longer than a lease;
  failover:   dispatchers SIGKILLed at random, the Sentinel primary SIGKILLed (the replica is
              promoted, the old primary rejoins as a replica).
N tasks of mixed types (two text types, text to speech with an output file) are scheduled while
that happens. Printed per scenario: tasks lost (acknowledged, then gone), stuck (not final when
the run ends), failed, executed twice (a second run while the first run's process was alive;
runs whose process we killed are excused and counted apart), dispatchers that exited on their
own, and the seconds from each Redis return to the first task completed after it.
Everything is bounded in time; every process it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.chaos_cluster import LEASE_SECONDS, Cluster
from bench.chaos_redis import Failover, Standalone
from bench.chaos_report import Figures, analyse, print_figures
from bench.chaos_worker import SPEECH_TYPE, TEXT_TYPES
from shared.accounts import UserStore
from shared.keys import Keys
from shared.redis import connect, messages
from shared.settings import Settings

TYPES = (*TEXT_TYPES, SPEECH_TYPE)
LOAD_SECONDS = 24.0
DRAIN_SECONDS = 60.0
GIVE_UP_SECONDS = 15.0
SCENARIO_SECONDS = 240.0


class Watch:
    """Times of task completions, from `{p}:chan:task` (resubscribes after every outage)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.completions: list[float] = []

    async def run(self) -> None:
        keys = Keys(self.settings.key_prefix)
        while True:
            redis = connect(self.settings)
            try:
                async with redis.pubsub() as ps:
                    await ps.subscribe(keys.chan_task)
                    async for msg in messages(ps):
                        if msg["data"].endswith(b"STATUS_SUCCESSFUL"):
                            self.completions.append(time.time())
            except Exception:
                await asyncio.sleep(0.05)
            finally:
                with contextlib.suppress(Exception):
                    await redis.aclose()

    def first_after(self, t: float) -> float | None:
        later = [c - t for c in self.completions if c >= t]
        return min(later) if later else None


async def produce(http: Any, cluster: Cluster, users: list[dict[str, str]], n: int,
                  figures: Figures) -> None:
    """Schedule n tasks over LOAD_SECONDS; a refused schedule is retried (not acknowledged)
    until the load's deadline, after which the rest are given up."""
    deadline = time.monotonic() + LOAD_SECONDS + GIVE_UP_SECONDS
    for i in range(n):
        if time.monotonic() > deadline:
            figures.given_up = n - i
            return
        started = time.monotonic()
        ttype = TYPES[i % len(TYPES)]
        while True:
            try:
                resp = await http.post(f"{cluster.api_base(i)}/schedule?format=json",
                                       headers=users[i % 2], json={
                                           "type": ttype, "appId": "chaos",
                                           "input": {"input": f"chaos {i}"}})
                body = await resp.json(content_type=None)
                status = resp.status
            except Exception as exc:
                status, body = type(exc).__name__, None
            if status == 200 and body is not None:
                figures.acknowledged[int(body["ocs"]["data"]["task"]["id"])] = i % 2
                break
            figures.refused[str(status)] = figures.refused.get(str(status), 0) + 1
            figures.refusals.append((time.monotonic() - figures.t0, str(status)))
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(max(0.0, LOAD_SECONDS / n - (time.monotonic() - started)))


def chaos_plan(topology: Standalone | Failover, cluster: Cluster,
               figures: Figures) -> None:
    """The faults, in a thread (they block): times are seconds since the load started."""
    t0 = time.monotonic()
    rng = cluster.rng

    def at(t: float) -> None:
        time.sleep(max(0.0, t - (time.monotonic() - t0)))

    def kill_and_replace(t: float) -> None:
        at(t + rng.uniform(0, 1.5))
        if cluster.kill_random() is not None:
            time.sleep(1.0)
            cluster.replace()

    kill_and_replace(1.5)
    at(5.0)
    figures.events.append((f"redis killed at {time.monotonic() - t0:.1f} s", ""))
    back = topology.crash(down_seconds=3.0)
    figures.returns.append(("redis back after kill -9" if isinstance(topology, Standalone)
                            else "new primary agreed", back))
    figures.events.append((f"redis back at {time.monotonic() - t0 - (time.time() - back):.1f} s",
                           ""))
    kill_and_replace(10.0)
    if isinstance(topology, Standalone):
        at(13.0)
        figures.events.append((f"redis stopped at {time.monotonic() - t0:.1f} s", ""))
        topology.stall(LEASE_SECONDS * 1.5)
        figures.returns.append((f"SIGCONT after a {LEASE_SECONDS * 1.5:.1f} s stall",
                                time.time()))
    kill_and_replace(19.0)


async def scenario(topology: Standalone | Failover, root: Path, n: int, seed: int) -> Figures:
    figures = Figures(topology.name)
    figures.t0 = time.monotonic()
    cluster = Cluster(root, topology.env(), seed)
    watch_task: asyncio.Task[None] | None = None
    try:  # whatever fails, the finally stops every process started so far
        topology.start()
        settings = Settings.from_env(environ=cluster.env)
        redis = connect(settings)
        users = [await _user(redis, settings, uid) for uid in ("alice", "bob")]
        await redis.aclose()
        cluster.start()
        watch = Watch(settings)
        watch_task = asyncio.create_task(watch.run())
        import aiohttp
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            reaper = asyncio.create_task(_reap(cluster))
            figures.t0 = time.monotonic()
            await asyncio.gather(produce(http, cluster, users, n, figures),
                                 asyncio.to_thread(chaos_plan, topology, cluster, figures))
            await analyse(http, settings, cluster, users, figures, DRAIN_SECONDS)
            reaper.cancel()
        figures.recovery = [(what, watch.first_after(t)) for what, t in figures.returns]
        figures.kills, figures.self_exits = cluster.kills, list(cluster.self_exits)
        return figures
    finally:
        if watch_task is not None:
            watch_task.cancel()
            await asyncio.gather(watch_task, return_exceptions=True)
        cluster.stop()
        topology.stop()


async def _reap(cluster: Cluster) -> None:
    while True:
        cluster.reap()
        await asyncio.sleep(0.2)


async def _user(redis: Any, settings: Settings, uid: str) -> dict[str, str]:
    import base64
    password = await UserStore(redis, Keys(settings.key_prefix)).add(uid)
    token = base64.b64encode(f"{uid}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "OCS-APIRequest": "true"}


async def amain(args: argparse.Namespace) -> int:
    kinds: dict[str, type[Standalone] | type[Failover]] = {"standalone": Standalone,
                                                          "failover": Failover}
    chosen = [args.only] if args.only else list(kinds)
    bad = 0
    with tempfile.TemporaryDirectory(prefix="taskproc-chaos-") as tmp:
        for i, name in enumerate(chosen):
            root = Path(tmp) / name
            root.mkdir()
            async with asyncio.timeout(SCENARIO_SECONDS):
                figures = await scenario(kinds[name](root), root, args.tasks, args.seed + i)
            print_figures(figures)
            bad += figures.bad()
            if args.keep_logs:
                import shutil
                shutil.copytree(root / "logs", Path(args.keep_logs) / name, dirs_exist_ok=True)
    return 1 if bad else 0


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--only", choices=["standalone", "failover"])
    p.add_argument("--keep-logs", help="copy the processes' logs into this directory")
    return asyncio.run(amain(p.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
