"""Task state in Redis: every change is one Lua script (shared/lua), reads are plain commands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from shared.keys import Keys
from shared.scripts import Scripts
from shared.tasks import Status, Task

OWNER_ANY = "*"
"""Owner argument for operators: acts on any task."""

LEASE_LOST_MESSAGE = ("The task could not be completed because its worker stopped responding "
                      "too many times.")


@dataclass(frozen=True)
class Claim:
    """One task an external provider claimed: its provider, lease token and expiry (ms)."""

    provider_id: str
    token: str
    expires_ms: int
    task: Task


def _text(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def owner_arg(user_id: str | None) -> str:
    """The owner argument of the scripts: a user id, or '' for guests (tasks without user)."""
    return user_id if user_id is not None else ""


class TaskStore:
    """Reads and atomic writes of tasks."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self.scripts = Scripts(redis, keys.p)

    async def schedule(self, *, task_type: str, user_id: str | None, app_id: str,
                       custom_id: str, inputs: dict[str, Any], webhook_uri: str | None,
                       webhook_method: str | None, include_watermark: bool,
                       expected_runtime: int, file_ids: list[int] = (),  # type: ignore[assignment]
                       guest: str | None = None) -> Task:
        raw = await self.scripts.run(
            "schedule", task_type, user_id or "", "1" if user_id is not None else "0", app_id,
            custom_id, orjson.dumps(inputs), webhook_uri or "", webhook_method or "",
            "1" if include_watermark else "0", int(expected_runtime),
            ",".join(str(i) for i in file_ids), guest or "")
        return Task.from_redis(raw)

    async def get(self, task_id: int) -> Task | None:
        raw = await self.redis.hgetall(self.keys.task(task_id))  # type: ignore[misc]
        return Task.from_redis(raw) if raw else None

    async def get_owned(self, task_id: int, user_id: str | None,
                        guest: str | None = None) -> Task | None:
        """The task if it belongs to the caller. Without a user: only tasks without user
        made by the same guest address (`guest`) or, for ExApps without user, by no guest."""
        task = await self.get(task_id)
        if task is None or task.user_id != user_id:
            return None
        if user_id is None and task.raw.get("guest") != guest:
            return None
        return task

    async def list_for_user(self, user_id: str, *, task_type: str | None = None,
                            custom_id: str | None = None,
                            app_id: str | None = None) -> list[Task]:
        ids = await self.redis.zrange(self.keys.user_tasks(user_id), 0, -1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hgetall(self.keys.task(i.decode()))
            rows = await pipe.execute()
        tasks = [Task.from_redis(r) for r in rows if r]
        return [t for t in tasks
                if (task_type is None or t.type == task_type)
                and (custom_id is None or t.raw.get("customId", "") == custom_id)
                and (app_id is None or t.raw.get("appId", "") == app_id)]

    async def cancel(self, task_id: int, owner: str) -> Task | None:
        raw = await self.scripts.run("cancel", task_id, owner)
        return Task.from_redis(raw) if raw else None

    async def delete(self, task_id: int, owner: str) -> list[int] | None:
        """Delete; returns the file ids the task referenced, or None if nothing was deleted."""
        raw = await self.scripts.run("delete", task_id, owner)
        return None if raw is None else [int(x) for x in raw]

    async def claim(self, task_id: int, *, gen: int | None, owner: str, token: str,
                    lease_ms: int, provider_id: str) -> Task | None:
        raw = await self.scripts.run("claim", task_id, "" if gen is None else gen, owner, token,
                                     lease_ms, provider_id)
        return Task.from_redis(raw) if raw else None

    async def renew(self, task_id: int, token: str, lease_ms: int) -> str:
        res = await self.scripts.run("renew", task_id, token, lease_ms)
        return res.decode() if isinstance(res, bytes) else str(res)

    async def progress(self, task_id: int, progress: float, *, token: str = "",
                       lease_ms: int | None = None) -> Task | None:
        raw = await self.scripts.run("progress", task_id, repr(float(progress)), token,
                                     "" if lease_ms is None else lease_ms)
        return Task.from_redis(raw) if raw else None

    async def result(self, task_id: int, *, output: dict[str, Any] | None,
                     error_message: str | None = None, user_message: str | None = None,
                     failed: bool = False, token: str = "",
                     complete: bool | None = None,
                     file_ids: list[int] = ()) -> tuple[bool, Task] | None:  # type: ignore[assignment]
        """Store a result; returns (accepted, task) or None if the task does not exist.

        `complete` sets progress to 1 (default: on success); pass True for an output that
        failed validation, as Nextcloud does.
        """
        status = Status.FAILED if failed or error_message is not None else Status.SUCCESSFUL
        raw = await self.scripts.run(
            "result", task_id, status.value,
            orjson.dumps(output) if output is not None and status is Status.SUCCESSFUL else "",
            error_message or "", user_message or "", token,
            "1" if (status is Status.SUCCESSFUL if complete is None else complete) else "0",
            ",".join(str(i) for i in file_ids))
        if raw is None:
            return None
        return bool(int(raw[0])), Task.from_redis(raw[1:])

    async def expire_leases(self, max_attempts: int, batch: int = 100) -> tuple[list[int],
                                                                               list[int]]:
        """Requeue (or fail) tasks whose lease expired; returns (requeued, failed)."""
        raw = [x.decode() if isinstance(x, bytes) else str(x)
               for x in await self.scripts.run("expire", max_attempts, batch,
                                               LEASE_LOST_MESSAGE)]
        cut = raw.index("|")
        return [int(x) for x in raw[:cut]], [int(x) for x in raw[cut + 1:]]

    async def claim_next(self, owner: str, count: int, token_base: str,
                         entries: list[tuple[str, str, int]]) -> tuple[bool, list[Claim]]:
        """Claim up to `count` oldest scheduled tasks of the (type, provider id, lease ms)
        entries for an external provider; returns (more are waiting, claims)."""
        argv: list[Any] = [owner, count, token_base]
        for entry in entries:
            argv.extend(entry)
        raw = await self.scripts.run("claim_next", *argv)
        claims = [Claim(_text(p), _text(t), int(exp), Task.from_redis(fields))
                  for p, t, exp, fields in raw[1:]]
        return bool(int(raw[0])), claims

    async def queue_counts(self, task_types: list[str]) -> tuple[int, int]:
        """(scheduled, running) tasks of these types."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for t in task_types:
                pipe.zcard(self.keys.scheduled(t))
                pipe.zcard(self.keys.running(t))
            counts = await pipe.execute()
        return sum(counts[0::2]), sum(counts[1::2])

    async def queue_rank(self, task: Task) -> int | None:
        """0-based place of a scheduled task among the scheduled tasks of its type."""
        rank = await self.redis.zrank(self.keys.scheduled(task.type), str(task.id))
        return None if rank is None else int(rank)

    async def requeue(self, task_id: int) -> Task | None:
        """Operator: run a failed, cancelled or stuck task again (None if not applicable)."""
        raw = await self.scripts.run("requeue", task_id)
        return Task.from_redis(raw) if raw else None

    async def rescue(self, task_ids: list[int]) -> list[int]:
        """New jobs for scheduled tasks whose job is gone or stuck in a dead worker."""
        if not task_ids:
            return []
        return [int(x) for x in await self.scripts.run("rescue", *task_ids)]

    async def waiting_since(self, task_type: str, before_ms: int, limit: int = 100) -> list[int]:
        """Scheduled tasks of a type that have waited since before `before_ms`, oldest first."""
        ids = await self.redis.zrangebyscore(self.keys.scheduled(task_type), "-inf", before_ms,
                                             start=0, num=limit)
        return [int(i) for i in ids]

    async def release(self, task_id: int, token: str) -> bool:
        return bool(await self.scripts.run("release", task_id, token))

    async def old_task_ids(self, before_unix: int, limit: int = 500) -> list[int]:
        ids = await self.redis.zrangebyscore(self.keys.tasks_updated, "-inf", before_unix,
                                             start=0, num=limit)
        return [int(i) for i in ids]
