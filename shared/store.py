"""Task state in Redis: every change is one Lua script (shared/lua), reads are plain commands.

Changes answer typed outcomes: a Task (None: nothing there for the caller), a `Change`, a
`Renewal`, `Claims`, `Expired` or the file ids of a deleted task; a schedule that its
`Admission` refuses raises `Refused`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
from redis.asyncio import Redis

from shared.keys import Keys
from shared.scripts import Code, Reply, Scripts, text
from shared.tasks import OPERATOR, Owner, Status, Task, TaskField

__all__ = ["LEASE_LOST_MESSAGE", "OPERATOR", "Admission", "Change", "Claim", "Claims",
           "Expired", "Owner", "Refusal", "Refused", "Renewal", "TaskStore"]

LEASE_LOST_MESSAGE = ("The task could not be completed because its worker stopped responding "
                      "too many times.")


@dataclass(frozen=True)
class Claim:
    """One task an external provider claimed: its provider, lease token and expiry (ms)."""

    provider_id: str
    token: str
    expires_ms: int
    task: Task


@dataclass(frozen=True)
class Claims:
    more: bool
    """More tasks of the requested types are waiting."""
    claims: list[Claim]


@dataclass(frozen=True)
class Change:
    """A progress report or result: `applied` when the lease holder's call changed the task;
    `task` as it is now, when asked for."""

    applied: bool
    task: Task | None


@dataclass(frozen=True)
class Expired:
    requeued: list[int]
    failed: list[int]


@dataclass(frozen=True)
class Admission:
    """What the schedule script checks in the same step as it writes the task."""

    registry_gen: int | None = None
    """The provider registry generation the caller validated against (None: not checked)."""
    max_queued: int = 0
    """At most this many scheduled tasks of the type (0: no cap)."""
    max_live: int = 0
    """At most this many scheduled or running tasks of the user (0: no cap)."""


class Refusal(StrEnum):
    REGISTRY = "registry"      # the registry changed since the caller's snapshot
    QUEUE_FULL = "queue_full"  # Admission.max_queued tasks of the type are waiting
    LIVE_TASKS = "live_tasks"  # the user has Admission.max_live live tasks


class Refused(Exception):
    """The schedule script refused the task; nothing was written."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


class Renewal(StrEnum):
    HELD = "held"    # the lease was extended
    LOST = "lost"    # another claim holds the task now
    ENDED = "ended"  # the task is no longer running (cancelled, finished, requeued)
    GONE = "gone"    # the task was deleted


def _owner(user_id: str | None, guest: str | None, exapp: str | None) -> Owner:
    if user_id is not None:
        return Owner.user(user_id)
    return Owner.guest(guest) if guest is not None else Owner.exapp(exapp or "")


def _ids(values: list[Any]) -> list[int]:
    return [int(text(v)) for v in values]


def _matches(task: Task, wanted: dict[str, str | None]) -> bool:
    """Whether the task has every wanted attribute value (None: any value)."""
    return all(v is None or getattr(task, k) == v for k, v in wanted.items())


def _admission_argv(admission: Admission) -> list[str | int]:
    """schedule.lua's ARGV[6..8]."""
    gen = "" if admission.registry_gen is None else admission.registry_gen
    return [gen, admission.max_queued, admission.max_live]


_GIVEN = tuple(f.value for f in (
    TaskField.APP_ID, TaskField.CUSTOM_ID, TaskField.INPUT, TaskField.INCLUDE_WATERMARK,
    TaskField.ALLOW_CLEANUP, TaskField.WEBHOOK_URI, TaskField.WEBHOOK_METHOD))
"""The fields a schedule gives schedule.lua (as plain strings: an enum member costs a lookup
on every read, on the api's hottest path)."""
_WRITTEN = tuple(f.value for f in (
    TaskField.ID, TaskField.TYPE, TaskField.STATUS, TaskField.SCHEDULED_AT,
    TaskField.LAST_UPDATED, TaskField.COMPLETION_EXPECTED_AT, TaskField.ATTEMPT, TaskField.GEN))
"""The fields schedule.lua writes itself, in the order TaskStore.schedule fills them in."""
_SCHEDULED = Status.SCHEDULED.value


def _flag(value: bool) -> str:
    return "1" if value else "0"


class TaskStore:
    """Reads and atomic writes of tasks."""

    def __init__(self, redis: Redis, keys: Keys, hooks_queue: str | None = None) -> None:
        self.redis = redis
        self.keys = keys
        self.scripts = Scripts(redis, keys, hooks_queue)

    async def schedule(self, *, task_type: str, user_id: str | None, app_id: str,
                       custom_id: str, inputs: dict[str, Any], webhook_uri: str | None,
                       webhook_method: str | None, include_watermark: bool,
                       expected_runtime: int, file_ids: list[int] = (),  # type: ignore[assignment]
                       guest: str | None = None, exapp: str | None = None,
                       external: bool = False, admission: Admission = Admission()) -> Task:
        """Create a task for a user, else for a guest address, else for an ExApp without user.
        `external`: an external provider serves the type (waiting claims are woken). Raises
        Refused when `admission` refuses it (a user's live tasks are capped, not others').
        The task answered is the task as scheduled; when an idle dispatcher had announced a
        slot for its type, it is already RUNNING there (services/dispatcher/handoff.py)."""
        values = (app_id, custom_id, orjson.dumps(inputs).decode(), _flag(include_watermark),
                  "1", webhook_uri or "", webhook_method or "")
        pairs = [x for f, v in zip(_GIVEN, values, strict=True) if v for x in (f, v)] + \
            _owner(user_id, guest, exapp).fields()
        reply = await self.scripts.run(
            "schedule", self._schedule_keys(task_type, user_id, admission), task_type,
            int(expected_runtime), ",".join(str(i) for i in file_ids), _flag(external),
            *_admission_argv(admission), *pairs)
        if not reply.ok:
            raise Refused(Refusal(text(reply.data[0])))
        task_id, sec = _ids(reply.data)
        raw = dict(zip(pairs[0::2], pairs[1::2], strict=True))
        raw.update(zip(_WRITTEN, (str(task_id), task_type, _SCHEDULED, str(sec), str(sec),
                                  str(sec + int(expected_runtime)), "0", "1"), strict=True))
        return Task(raw)

    def _schedule_keys(self, task_type: str, user_id: str | None,
                       admission: Admission) -> list[str]:
        """schedule.lua's KEYS[6..11]: the id sequence, the user's index and live set ('' for a
        task without user, or no cap), the registry generation, the type's free dispatcher
        slots and handoff list."""
        live = self.keys.user_live(user_id) if user_id and admission.max_live > 0 else ""
        return [self.keys.task_seq, self.keys.user_tasks(user_id) if user_id else "", live,
                self.keys.providers_gen, self.keys.idle(task_type), self.keys.handoff(task_type)]

    async def get(self, task_id: int) -> Task | None:
        raw = await self.redis.hgetall(self.keys.task(task_id))  # type: ignore[misc]
        return Task.from_redis(raw) if raw else None

    async def get_owned(self, task_id: int, owner: Owner) -> Task | None:
        """The task if it belongs to the caller (Owner.owns)."""
        task = await self.get(task_id)
        return task if task is not None and owner.owns(task) else None

    async def list_for_user(self, user_id: str, *, task_type: str | None = None,
                            custom_id: str | None = None, app_id: str | None = None,
                            limit: int = 1000, offset: int = 0,
                            batch: int = 200) -> list[Task]:
        """The user's tasks that match, oldest first: the newest `limit` of them after
        skipping the newest `offset`. Reads `batch` tasks at a time, newest first, so memory
        stays bounded by `limit + batch` whatever the user has stored."""
        key, start, skip = self.keys.user_tasks(user_id), 0, offset
        wanted = {"type": task_type, "custom_id": custom_id, "app_id": app_id}
        found: list[Task] = []
        while len(found) < limit:
            ids = await self.redis.zrevrange(key, start, start + batch - 1)
            if not ids:
                break
            start += len(ids)
            matching = [task for task in await self._read_many(ids) if _matches(task, wanted)]
            found += matching[skip:][:limit - len(found)]
            skip = max(0, skip - len(matching))
        found.reverse()
        return found

    async def _read_many(self, ids: list[bytes]) -> list[Task]:
        """The tasks with these ids that still exist, in the same order, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hgetall(self.keys.task(i.decode()))
            return [Task.from_redis(raw) for raw in await pipe.execute() if raw]

    async def cancel(self, task_id: int, owner: Owner) -> Task | None:
        """Cancel if scheduled or running; the task as it is now, None if not the caller's."""
        reply = await self.scripts.task("cancel", task_id, owner.kind.value, owner.who)
        return reply.task

    async def delete(self, task_id: int, owner: Owner) -> list[int] | None:
        """Delete; returns the file ids the task referenced, or None if nothing was deleted."""
        reply = await self.scripts.task("delete", task_id, owner.kind.value, owner.who)
        return _ids(reply.data) if reply.ok else None

    async def claim(self, task_id: int, *, gen: int | None, owner: str, token: str,
                    lease_ms: int, provider_id: str) -> Task | None:
        """Claim a scheduled task (of job generation `gen`); the running task, or None."""
        reply = await self.scripts.task("claim", task_id, "" if gen is None else gen, owner,
                                        token, lease_ms, provider_id)
        return reply.task

    async def renew(self, task_id: int, token: str, lease_ms: int) -> Renewal:
        reply = await self.scripts.task("renew", task_id, token, lease_ms)
        if reply.ok:
            return Renewal.HELD
        if reply.code is Code.GONE:
            return Renewal.GONE
        return Renewal.LOST if text(reply.data[0]) == "lost" else Renewal.ENDED

    async def progress(self, task_id: int, progress: float, *, token: str,
                       lease_ms: int | None = None, want_task: bool = False) -> Change | None:
        """The lease holder's progress (extending the lease by `lease_ms`); None: no task."""
        reply = await self.scripts.task("progress", task_id, repr(float(progress)), token,
                                        "" if lease_ms is None else lease_ms,
                                        _flag(want_task))
        return _change(reply)

    async def result(self, task_id: int, *, output: dict[str, Any] | None, token: str,
                     error_message: str | None = None, user_message: str | None = None,
                     failed: bool = False, complete: bool | None = None,
                     file_ids: list[int] = (),  # type: ignore[assignment]
                     want_task: bool = False) -> Change | None:
        """The lease holder's result; None when the task does not exist.

        `complete` sets progress to 1 (default: on success); pass True for an output that
        failed validation, as Nextcloud does.
        """
        status = Status.FAILED if failed or error_message is not None else Status.SUCCESSFUL
        reply = await self.scripts.task(
            "result", task_id, status.value,
            orjson.dumps(output) if output is not None and status is Status.SUCCESSFUL else "",
            error_message or "", user_message or "", token,
            _flag(status is Status.SUCCESSFUL if complete is None else complete),
            ",".join(str(i) for i in file_ids), _flag(want_task))
        return _change(reply)

    async def release(self, task_id: int, token: str) -> bool:
        """Hand a running task back (shutdown); True if this lease held it."""
        return (await self.scripts.task("release", task_id, token)).ok

    async def requeue(self, task_id: int) -> Task | None:
        """Operator: run a failed, cancelled or stuck task again (None if not applicable)."""
        return (await self.scripts.task("requeue", task_id)).task

    async def expire_leases(self, max_attempts: int, batch: int = 100, *, stall_ms: int = 0,
                            grace_ms: int = 0) -> Expired:
        """Requeue (or fail) tasks whose lease expired. With `stall_ms`: when no sweep ran for
        that long, leases get `grace_ms` instead (their holders could not renew while Redis was
        away; see expire.lua)."""
        stall = [stall_ms, grace_ms] if stall_ms else []
        reply = await self.scripts.run("expire", [self.keys.leases_swept], max_attempts, batch,
                                       LEASE_LOST_MESSAGE, *stall)
        requeued, failed = reply.data
        return Expired(_ids(requeued), _ids(failed))

    async def claim_next(self, owner: str, count: int, token_base: str,
                         entries: list[tuple[str, str, int]]) -> Claims:
        """Claim up to `count` oldest scheduled tasks of the (type, provider id, lease ms)
        entries for an external provider."""
        argv: list[Any] = [owner, count, token_base]
        for entry in entries:
            argv.extend(entry)
        more, raw = (await self.scripts.run("claim_next", [], *argv)).data
        return Claims(bool(int(more)), [
            Claim(text(p), text(t), int(exp), Task.from_redis(fields))
            for p, t, exp, fields in raw])

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

    async def waiting_since(self, task_type: str, before_ms: int, limit: int = 100) -> list[int]:
        """Scheduled tasks of a type that have waited since before `before_ms`, oldest first."""
        ids = await self.redis.zrangebyscore(self.keys.scheduled(task_type), "-inf", before_ms,
                                             start=0, num=limit)
        return [int(i) for i in ids]

    async def old_task_ids(self, before_unix: int, limit: int = 500) -> list[int]:
        ids = await self.redis.zrangebyscore(self.keys.tasks_updated, "-inf", before_unix,
                                             start=0, num=limit)
        return [int(i) for i in ids]


async def migrate_task_keys(redis: Redis, keys: Keys) -> int:
    """Rename the task keys of the layout before hash tags (`{p}:task:42`, `{p}:task:42:files`)
    to today's (`{p}:task:{42}`…), so an upgrade keeps every task; returns how many it renamed.
    Idempotent and cheap once done (dispatchers run it at start)."""
    renamed = 0
    start = len(keys.p) + len(":task:")
    async for raw in redis.scan_iter(match=f"{keys.p}:task:[0-9]*", count=1000):
        name = raw.decode()
        task_id, _, suffix = name[start:].partition(":")
        new = keys.task(task_id) if suffix == "" else \
            keys.task_files(task_id) if suffix == "files" else None
        if task_id.isdigit() and new is not None and await redis.renamenx(name, new):
            renamed += 1
    return renamed


def _change(reply: Reply) -> Change | None:
    return None if reply.code is Code.GONE else Change(reply.ok, reply.task)
