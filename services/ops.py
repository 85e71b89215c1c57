"""Operator commands for tasks and queues: `taskproc task list|show|cancel|requeue|cleanup`
and `taskproc stats`. Every change goes through the same Lua scripts as the services.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from services import tables
from services.commands import Commands, arg
from services.dispatcher.jobs import job_state
from services.progress import Progress
from shared.bridge_status import bridge_status
from shared.housekeeping import delete_old_tasks
from shared.keys import Keys
from shared.metrics import queue_figures, task_types
from shared.provider_spec import ProviderSpec
from shared.registry import Snapshot
from shared.store import OPERATOR
from shared.stores import Stores
from shared.tasks import Status, Task, TaskField

REQUEUEABLE = ("FAILED", "CANCELLED")
"""Statuses `task requeue --status` takes; a stuck running task is requeued by its id."""
COMMANDS = Commands({"task": "inspect and manage tasks"})


def add_commands(sub: Any) -> None:
    """Register `task …` and `stats` on the CLI's subparsers."""
    COMMANDS.add_to(sub)


def _status(value: str | None) -> Status | None:
    if not value:
        return None
    value = value.upper()
    return Status(value if value.startswith("STATUS_") else f"STATUS_{value}")


def _matches(task: Task, args: argparse.Namespace, status: Status | None) -> bool:
    return ((status is None or task.status is status)
            and (args.task_type is None or task.type == args.task_type)
            and (args.user is None or task.user_id == args.user)
            and (args.app is None or task.app_id == args.app))


async def _newest(redis: Redis, keys: Keys, index: str, batch: int = 200) -> AsyncIterator[Task]:
    """Tasks of an index ZSET, highest score first, read in pipelined batches."""
    start = 0
    while ids := await redis.zrevrange(index, start, start + batch - 1):
        start += batch
        async with redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hgetall(keys.task(i.decode()))
            rows = await pipe.execute()
        for row in rows:
            if row:
                yield Task.from_redis(row)


def _line(task: Task) -> str:
    updated = time.strftime("%Y-%m-%d %H:%M:%S",
                            time.localtime(task.int_field(TaskField.LAST_UPDATED) or 0))
    return "\t".join([str(task.id), task.status.value.removeprefix("STATUS_"), task.type,
                      task.user_id or "-", task.app_id, task.provider_id or "-",
                      f"attempt={task.attempt}", updated])


@COMMANDS("task list", "tasks, newest first",
          arg("--status", help="e.g. SCHEDULED, RUNNING, FAILED (STATUS_ optional)"),
          arg("--type", dest="task_type"), arg("--user"), arg("--app"),
          arg("--limit", type=int, default=50),
          arg("--json", action="store_true", help="one JSON object per line"))
async def task_list(st: Stores, args: argparse.Namespace) -> int:
    status = _status(args.status)
    index = st.keys.user_tasks(args.user) if args.user else st.keys.tasks_updated
    shown = 0
    async for task in _newest(st.redis, st.keys, index):
        if shown >= args.limit:
            break
        if _matches(task, args, status):
            print(orjson.dumps(task.raw).decode() if args.json else _line(task))
            shown += 1
    return 0


@COMMANDS("task show", "every stored field of a task, its job and files",
          arg("task_id", type=int),
          arg("--json", action="store_true", help="one JSON object, values uncut"))
async def task_show(st: Stores, args: argparse.Namespace) -> int:
    task = await st.tasks.get(args.task_id)
    if task is None:
        print(f"task {args.task_id} not found")
        return 1
    job, queued, in_progress = await job_state(st.redis, st.keys, task.id, task.gen)
    found = await st.redis.smembers(st.keys.task_files(task.id))  # type: ignore[misc]
    files = sorted(int(f) for f in found)
    if args.json:
        print(orjson.dumps({"task": task.raw, "job": {
            "id": job, "queued": queued, "in_progress": in_progress},
            "files": files}).decode())
        return 0
    print(tables.task_fields(task), end="\n\n")
    print(tables.table(("job", "queued", "in progress"),
                       [(job, _yes(queued), _yes(in_progress))]))
    print(f"\nfiles: {', '.join(map(str, files)) or '(none)'}")
    return 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@COMMANDS("task cancel", "cancel a scheduled or running task", arg("task_id", type=int))
async def task_cancel(st: Stores, args: argparse.Namespace) -> int:
    task = await st.tasks.cancel(args.task_id, OPERATOR)
    if task is None:
        print(f"task {args.task_id} not found")
        return 1
    print(f"task {task.id}: {task.status.value}")
    return 0


@COMMANDS("task requeue", "run failed, cancelled or stuck running tasks again: the given "
          "ids, or all with --status (and --type)",
          arg("task_ids", type=int, nargs="*", metavar="task_id"),
          arg("--status", choices=REQUEUEABLE, type=str.upper), arg("--type", dest="task_type"))
async def task_requeue(st: Stores, args: argparse.Namespace) -> int:
    if bool(args.task_ids) == bool(args.status):
        raise ValueError("requeue takes task ids or --status (with an optional --type)")
    ids = args.task_ids or await _ids_with(st, _status(args.status), args.task_type)
    if len(ids) == 1:
        return await _requeue_one(st, ids[0])
    done = 0
    with Progress("requeueing tasks", len(ids)) as progress:
        for task_id in ids:
            done += await st.tasks.requeue(task_id) is not None
            progress.advance()
    print(f"requeued {done} of {len(ids)} task(s)"
          + (f"; {len(ids) - done} not found, scheduled or successful" if done < len(ids)
             else ""))
    return 0 if done == len(ids) else 1


async def _requeue_one(st: Stores, task_id: int) -> int:
    task = await st.tasks.requeue(task_id)
    if task is None:
        print(f"task {task_id} not requeued: not found, scheduled or successful")
        return 1
    print(f"task {task_id}: {task.status.value}")
    return 0


async def _ids_with(st: Stores, status: Status | None, task_type: str | None) -> list[int]:
    """Ids of the tasks with this status (and type), from the update index."""
    return [t.id async for t in _newest(st.redis, st.keys, st.keys.tasks_updated)
            if t.status is status and (task_type is None or t.type == task_type)]


@COMMANDS("task cleanup", "delete tasks not updated for a while",
          arg("--older-than-days", type=float, help="default: TASKPROC_TASK_MAX_AGE_SECONDS"),
          arg("--dry-run", action="store_true"))
async def task_cleanup(st: Stores, args: argparse.Namespace) -> int:
    """The dispatcher's housekeeping, now: old tasks (allowCleanup) and their files go."""
    age = (args.older_than_days * 86400 if args.older_than_days is not None
           else st.settings.task_max_age_seconds)
    cutoff = int(time.time() - age)
    total = await st.redis.zcount(st.keys.tasks_updated, "-inf", cutoff)
    with Progress("looking at old tasks", total) as progress:
        deleted = await delete_old_tasks(st.tasks, st.files, cutoff, dry_run=args.dry_run,
                                         progress=progress.advance)
    print(f"{'would delete' if args.dry_run else 'deleted'} {deleted} task(s)")
    return 0


def _bridge_lines(held: int, instances: list[dict[str, Any]]) -> str:
    """The bridge's part of `stats` (nothing without a bridge)."""
    if not instances and not held:
        return ""
    return f"\n\nbridge: {held} Nextcloud task(s) held\n" + tables.table(
        ("instance", "held", "types served", "Nextcloud", "seen (s ago)"), [
            (b["instance"], b.get("held", 0), b.get("serving", 0), b.get("upstream", ""),
             round(time.time() - float(b["seen"]))) for b in instances])


@dataclass(frozen=True)
class _Stats:
    snap: Snapshot
    figures: dict[str, tuple[int, float, int]]
    """type -> (waiting, oldest waiting in s, running)."""
    leases: int
    job_queue: int
    providers: list[ProviderSpec]
    """Alive providers by task type, then id."""
    bridged: int
    bridges: list[dict[str, Any]]


@COMMANDS("stats", "queue depth, oldest waiting, running, providers",
          arg("--json", action="store_true"))
async def show_stats(st: Stores, args: argparse.Namespace) -> int:
    snap = await st.registry.snapshot()
    figures = await queue_figures(st.redis, st.keys, await task_types(st.registry))
    leases = await st.redis.zcard(st.keys.leases)
    job_queue = await st.redis.zcard(st.keys.queue)
    providers = sorted(snap.providers.values(), key=lambda s: (s.task_type, s.id))
    bridged, bridges = await bridge_status(st.redis, st.keys)
    stats = _Stats(snap, figures, leases, job_queue, providers, bridged, bridges)
    print(_stats_json(stats) if args.json else _stats_tables(stats))
    return 0


def _stats_json(stats: _Stats) -> str:
    snap = stats.snap
    return orjson.dumps({
        "types": {t: {"waiting": w, "oldest_waiting_seconds": round(o, 3),
                      "running": r} for t, (w, o, r) in stats.figures.items()},
        "leases": stats.leases, "job_queue": stats.job_queue,
        "providers": [s.to_json() | {"preferred": snap.preferred(s.task_type) == s}
                      for s in stats.providers],
        "bridge": {"held": stats.bridged, "instances": stats.bridges}}).decode()


def _stats_tables(stats: _Stats) -> str:
    snap, served = stats.snap, {s.task_type for s in stats.providers}
    queues = tables.table(("task type", "waiting", "oldest waiting (s)", "running"), [
        (t, waiting, oldest, running) for t, (waiting, oldest, running) in stats.figures.items()
        if waiting or running or t in served])
    providers = tables.table(("preferred", "task type", "provider", "kind", "name"), [
        ("*" if snap.preferred(s.task_type) == s else "", s.task_type, s.id, s.kind, s.name)
        for s in stats.providers])
    return (f"{queues}\n\nleases held: {stats.leases}, job queue entries: {stats.job_queue}"
            f"\n\nproviders (alive):\n{providers}{_bridge_lines(stats.bridged, stats.bridges)}")
