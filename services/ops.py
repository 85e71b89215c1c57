"""Operator commands for tasks and queues: `taskproc task list|show|cancel|requeue|cleanup`
and `taskproc stats`. Every change goes through the same Lua scripts as the services.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from redis.asyncio import Redis

from services import tables
from services.admin import _with
from services.dispatcher.jobs import job_state
from services.progress import Progress
from shared.bridge_status import bridge_status
from shared.housekeeping import delete_old_tasks
from shared.keys import Keys
from shared.metrics import queue_figures, task_types
from shared.settings import Settings
from shared.store import OPERATOR
from shared.stores import Stores
from shared.tasks import Status, Task, TaskField

REQUEUEABLE = ("FAILED", "CANCELLED")
"""Statuses `task requeue --status` takes; a stuck running task is requeued by its id."""


def add_commands(sub: Any) -> None:
    """Register `task …` and `stats` on the CLI's subparsers."""
    task = sub.add_parser("task", help="inspect and manage tasks").add_subparsers(
        dest="action", required=True)
    ls = task.add_parser("list", help="tasks, newest first")
    ls.add_argument("--status", help="e.g. SCHEDULED, RUNNING, FAILED (STATUS_ optional)")
    ls.add_argument("--type", dest="task_type")
    ls.add_argument("--user")
    ls.add_argument("--app")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.set_defaults(func=task_list)
    show = task.add_parser("show", help="every stored field of a task, its job and files")
    show.add_argument("task_id", type=int)
    show.add_argument("--json", action="store_true", help="one JSON object, values uncut")
    show.set_defaults(func=task_show)
    cancel = task.add_parser("cancel", help="cancel a scheduled or running task")
    cancel.add_argument("task_id", type=int)
    cancel.set_defaults(func=task_cancel)
    requeue = task.add_parser("requeue", help="run failed, cancelled or stuck running tasks "
                              "again: the given ids, or all with --status (and --type)")
    requeue.add_argument("task_ids", type=int, nargs="*", metavar="task_id")
    requeue.add_argument("--status", choices=REQUEUEABLE, type=str.upper)
    requeue.add_argument("--type", dest="task_type")
    requeue.set_defaults(func=task_requeue)
    clean = task.add_parser("cleanup", help="delete tasks not updated for a while")
    clean.add_argument("--older-than-days", type=float,
                       help="default: TASKPROC_TASK_MAX_AGE_SECONDS")
    clean.add_argument("--dry-run", action="store_true")
    clean.set_defaults(func=task_cleanup)
    stats = sub.add_parser("stats", help="queue depth, oldest waiting, running, providers")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=show_stats)


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


async def task_list(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
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
    return await _with(settings, go)


async def task_show(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
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
    return await _with(settings, go)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


async def task_cancel(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
        task = await st.tasks.cancel(args.task_id, OPERATOR)
        if task is None:
            print(f"task {args.task_id} not found")
            return 1
        print(f"task {task.id}: {task.status.value}")
        return 0
    return await _with(settings, go)


async def task_requeue(settings: Settings, args: argparse.Namespace) -> int:
    if bool(args.task_ids) == bool(args.status):
        raise ValueError("requeue takes task ids or --status (with an optional --type)")

    async def go(st: Stores) -> int:
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
    return await _with(settings, go)


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


async def task_cleanup(settings: Settings, args: argparse.Namespace) -> int:
    """The dispatcher's housekeeping, now: old tasks (allowCleanup) and their files go."""
    async def go(st: Stores) -> int:
        age = (args.older_than_days * 86400 if args.older_than_days is not None
               else settings.task_max_age_seconds)
        cutoff = int(time.time() - age)
        total = await st.redis.zcount(st.keys.tasks_updated, "-inf", cutoff)
        with Progress("looking at old tasks", total) as progress:
            deleted = await delete_old_tasks(st.tasks, st.files, cutoff, dry_run=args.dry_run,
                                             progress=progress.advance)
        print(f"{'would delete' if args.dry_run else 'deleted'} {deleted} task(s)")
        return 0
    return await _with(settings, go)


def _print_bridge(held: int, instances: list[dict[str, Any]]) -> None:
    if not instances and not held:
        return
    print(f"\nbridge: {held} Nextcloud task(s) held")
    print(tables.table(("instance", "held", "types served", "Nextcloud", "seen (s ago)"), [
        (b["instance"], b.get("held", 0), b.get("serving", 0), b.get("upstream", ""),
         round(time.time() - float(b["seen"]))) for b in instances]))


async def show_stats(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
        snap = await st.registry.snapshot()
        figures = await queue_figures(st.redis, st.keys, await task_types(st.registry))
        leases = await st.redis.zcard(st.keys.leases)
        job_queue = await st.redis.zcard(st.keys.queue)
        providers = sorted(snap.providers.values(), key=lambda s: (s.task_type, s.id))
        bridged, bridges = await bridge_status(st.redis, st.keys)
        if args.json:
            print(orjson.dumps({
                "types": {t: {"waiting": w, "oldest_waiting_seconds": round(o, 3),
                              "running": r} for t, (w, o, r) in figures.items()},
                "leases": leases, "job_queue": job_queue,
                "providers": [s.to_json() | {"preferred": snap.preferred(s.task_type) == s}
                              for s in providers],
                "bridge": {"held": bridged, "instances": bridges}}).decode())
            return 0
        served = {s.task_type for s in providers}
        print(tables.table(("task type", "waiting", "oldest waiting (s)", "running"), [
            (t, waiting, oldest, running) for t, (waiting, oldest, running) in figures.items()
            if waiting or running or t in served]))
        print(f"\nleases held: {leases}, job queue entries: {job_queue}\n\nproviders (alive):")
        print(tables.table(("preferred", "task type", "provider", "kind", "name"), [
            ("*" if snap.preferred(s.task_type) == s else "", s.task_type, s.id, s.kind, s.name)
            for s in providers]))
        _print_bridge(bridged, bridges)
        return 0
    return await _with(settings, go)
