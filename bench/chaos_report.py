"""Counting what a `make chaos` scenario did to the tasks, and printing it."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.chaos_cluster import Cluster
from bench.chaos_worker import SPEECH_TYPE, WAV
from shared.keys import Keys
from shared.redis import connect
from shared.settings import Settings
from shared.tasks import Status

FINAL = {s.value for s in (Status.SUCCESSFUL, Status.FAILED, Status.CANCELLED)}


@dataclass
class Figures:
    name: str
    acknowledged: dict[int, int] = field(default_factory=dict)
    """task id -> index of the user who scheduled it"""
    refused: dict[str, int] = field(default_factory=dict)
    refusals: list[tuple[float, str]] = field(default_factory=list)
    """(seconds since the load started, status) of each refused schedule"""
    events: list[tuple[str, str]] = field(default_factory=list)
    t0: float = 0.0
    given_up: int = 0
    """tasks never acknowledged before the load's deadline"""
    returns: list[tuple[str, float]] = field(default_factory=list)
    recovery: list[tuple[str, float | None]] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    lost: list[int] = field(default_factory=list)
    stuck: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    twice: list[int] = field(default_factory=list)
    excused: list[int] = field(default_factory=list)
    files_checked: int = 0
    files_bad: int = 0
    kills: int = 0
    self_exits: list[tuple[int, int | None]] = field(default_factory=list)
    drain_seconds: float = 0.0

    def bad(self) -> int:
        return len(self.lost) + len(self.stuck) + len(self.twice) + self.files_bad


async def analyse(http: Any, settings: Settings, cluster: Cluster, users: list[dict[str, str]],
                  figures: Figures, drain_seconds: float) -> None:
    """Wait (bounded) for every acknowledged task to be final, then count."""
    keys, redis = Keys(settings.key_prefix), connect(settings)
    ids = sorted(figures.acknowledged)
    start = time.monotonic()
    try:
        while True:
            statuses = await _statuses(redis, keys, ids)
            open_ = [t for t, s in statuses.items() if s is not None and s not in FINAL]
            if not open_ or time.monotonic() - start > drain_seconds:
                break
            await asyncio.sleep(0.5)  # bounded: the tasks live in other processes
        figures.drain_seconds = time.monotonic() - start
        figures.statuses = Counter(s or "(gone)" for s in statuses.values())
        figures.lost = [t for t, s in statuses.items() if s is None]
        figures.stuck = open_
        figures.failed = [t for t, s in statuses.items() if s == Status.FAILED.value]
        speech = [t for t, s in statuses.items() if s == Status.SUCCESSFUL.value
                  and (await redis.hget(keys.task(t), "type")) == SPEECH_TYPE.encode()]  # type: ignore[misc]
    finally:
        await redis.aclose()
    figures.twice, figures.excused = reruns(cluster.root / "runs", cluster.deaths)
    for tid in speech[:20]:
        figures.files_checked += 1
        figures.files_bad += not await _download_ok(http, cluster, users[figures.acknowledged[tid]],
                                                    tid)


async def _statuses(redis: Any, keys: Keys, ids: list[int]) -> dict[int, str | None]:
    async with redis.pipeline(transaction=False) as pipe:
        for tid in ids:
            pipe.hget(keys.task(tid), "status")
        raw = await pipe.execute()
    return {t: (v.decode() if v is not None else None) for t, v in zip(ids, raw, strict=True)}


async def _download_ok(http: Any, cluster: Cluster, user: dict[str, str], tid: int) -> bool:
    """The task's output file, through the api (metadata) and the fileproxy (bytes)."""
    body = await (await http.get(f"{cluster.api_base(0)}/task/{tid}?format=json",
                                 headers=user)).json()
    file_id = body["ocs"]["data"]["task"]["output"]["speech"]
    resp = await http.get(f"{cluster.file_base()}/tasks/{tid}/file/{file_id}", headers=user)
    return bool(resp.status == 200 and await resp.read() == WAV)


def reruns(runs_dir: Path, deaths: dict[int, float]) -> tuple[list[int], list[int]]:
    """(executed twice, re-run after its earlier run's process died) task ids."""
    runs: dict[int, list[tuple[float, int]]] = {}
    for path in runs_dir.glob("runs-*.log"):
        for line in path.read_text().splitlines():
            event, tid, pid, at = line.split()
            if event == "start":
                runs.setdefault(int(tid), []).append((float(at), int(pid)))
    twice: list[int] = []
    excused: list[int] = []
    for task, starts in runs.items():
        starts.sort()
        if len(starts) < 2:
            continue
        died_first = all(pid in deaths and deaths[pid] <= nxt
                         for (_, pid), (nxt, _) in itertools.pairwise(starts))
        (excused if died_first else twice).append(task)
    return sorted(twice), sorted(excused)


def print_figures(f: Figures) -> None:
    print(f"== chaos: {f.name}")
    print(f"  tasks acknowledged {len(f.acknowledged)}; final states "
          f"{dict(sorted(f.statuses.items()))} after {f.drain_seconds:.1f} s of drain")
    print(f"  lost {len(f.lost)}  stuck {len(f.stuck)}  failed {len(f.failed)}  "
          f"executed twice {len(f.twice)}  (re-run after its process was killed: "
          f"{len(f.excused)})")
    print(f"  dispatchers SIGKILLed {f.kills}; exited on their own: {len(f.self_exits)} "
          f"{[code for _, code in f.self_exits]}")
    refused = ", ".join(f"{k}: {v}" for k, v in sorted(f.refused.items())) or "none"
    print(f"  schedule attempts refused (retried): {refused}; never acknowledged: {f.given_up}")
    if f.refusals:
        spans: dict[str, list[float]] = {}
        for at, status in f.refusals:
            spans.setdefault(status, []).append(at)
        print("  refusals between " + "; ".join(
            f"{s}: {min(v):.1f}-{max(v):.1f} s" for s, v in sorted(spans.items()))
            + " (" + ", ".join(e for e, _ in f.events) + ")")
    for what, secs in f.recovery:
        shown = f"{secs:.2f} s" if secs is not None else "never"
        print(f"  {what}: first task completed after {shown}")
    print(f"  output files downloaded through the fileproxy: {f.files_checked - f.files_bad}"
          f"/{f.files_checked}")
    for label, ids in (("lost", f.lost), ("stuck", f.stuck), ("twice", f.twice)):
        if ids:
            print(f"    {label}: {ids[:20]}{' …' if len(ids) > 20 else ''}")
