"""The dispatchers' job queue: arq 0.28, and the only Python that knows it.

Each task has one job per generation, `{p}:run:{id}:{gen}`, calling `run_task(id, gen, type)`;
webhook deliveries are `{p}:hook:{id}:{n}` calling `fire_webhook(id)`. The Lua side
(shared/lua/arq.lua) writes jobs as arq stores them: a JSON payload under `arq:job:{job id}`
(arq cannot prefix its own keys) and an entry in the queue ZSET scored by enqueue time ms.
tests/dispatcher/test_arq_contract.py checks these assumptions against the installed arq.

`JobWorker` differs from arq's Worker in three places:
- it waits on an event set by `{p}:chan:wake` (the scripts publish there after an enqueue)
  instead of polling, with a fallback poll for lost messages, and refills a freed slot at once;
- it starts jobs with one script (shared/lua/pickup.lua) that marks every job it takes in
  progress, instead of arq's WATCH/EXISTS/ZSCORE/MULTI per job, and in the same step claims
  the tasks of the types its `LocalClaims` serve: such a job runs its task at once
  (`LocalClaims.run`) and is removed after, without arq's job read (payload GET, try INCR)
  or claim.lua; the task's state machine, not arq's tries, decides what runs again;
- a started job leaves the queue's due range until it finishes, so pickups read no running
  jobs; it finishes with one pipeline without a transaction (arq: MULTI, an abort-set ZREM and
  EXEC around the same two commands).
It also lends job slots to the handoff (services/dispatcher/handoff.py: `reserve`,
`run_reserved`), which runs new tasks that never had a job; the queue always keeps one slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, retry_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker, func
from redis.asyncio import Redis

from shared.keys import Keys
from shared.redis import connect
from shared.scripts import Scripts, text
from shared.settings import Settings
from shared.store import TaskStore
from shared.tasks import Task

logger = logging.getLogger(__name__)
ARQ_VERSION = "0.28.0"
"""The arq release this module was written against (pinned in pyproject.toml)."""
RUN_TASK, FIRE_WEBHOOK = "run_task", "fire_webhook"
Deliver = Callable[[int, int], Awaitable[None]]
"""(task id, attempt from 1) -> None; raises arq's Retry to be tried again later."""
RunTask = Callable[[int, int, str | None, float | None], Awaitable[None]]
"""(task id, generation, task type or None for older jobs, enqueue time in unix seconds)."""


def run_job_id(keys: Keys, task_id: int, gen: int) -> str:
    return f"{keys.p}:run:{task_id}:{gen}"


def is_hook_job(keys: Keys, job_id: str) -> bool:
    """A webhook delivery's job (the hooks worker's queue), not a task's."""
    return job_id.startswith(f"{keys.p}:hook:")


def job_key(job_id: str) -> str:
    return job_key_prefix + job_id


def in_progress_key(job_id: str) -> str:
    return in_progress_key_prefix + job_id


def retry_key(job_id: str) -> str:
    return retry_key_prefix + job_id


def connect_pool(settings: Settings) -> Redis:
    """The dispatcher's Redis client: arq needs its own client class."""
    return connect(settings, redis_class=ArqRedis)


async def job_state(redis: Redis, keys: Keys, task_id: int, gen: int) -> tuple[str, bool, bool]:
    """(job id, queued, marked in progress) of a task's current job, for operators."""
    job = run_job_id(keys, task_id, gen)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zscore(keys.queue, job)
        pipe.exists(in_progress_key(job))
        queued, running = await pipe.execute()
    return job, queued is not None, bool(running)


@dataclass(frozen=True)
class LocalClaims:
    """What pickup claims at once for the local providers of a dispatcher."""

    owner: str
    lease_ms: int
    served: Callable[[], Awaitable[dict[str, str]]]
    """Task type -> provider id, for the types whose preferred provider is local here."""
    run: Callable[[Task, str, float], Awaitable[None]]
    """Run a task the pickup claimed (now RUNNING): (task, lease token, enqueue time, unix s)."""


class JobWorker(Worker):
    """arq's Worker, run with poll_delay=0; `wake()` starts the next iteration now."""

    def __init__(self, *args: Any, scripts: Scripts, fallback_poll: float = 1.0,
                 claims: LocalClaims | None = None, **kwargs: Any) -> None:
        super().__init__(*args, poll_delay=0, job_serializer=orjson.dumps,
                         job_deserializer=orjson.loads, allow_abort_jobs=False, **kwargs)
        self._scripts = scripts
        self._claims = claims
        self._wake_event = asyncio.Event()
        self.slot_freed = asyncio.Event()
        """Set when a job or reserved run ends (the handoff waits on it for a free slot)."""
        self._fallback = fallback_poll
        self._stopping = False

    def wake(self) -> None:
        self._wake_event.set()

    @property
    def stopping(self) -> bool:
        """Told to stop: by `stop_polling()` or by a signal (arq then stops picking jobs)."""
        return self._stopping or not self.allow_pick_jobs

    def stop_polling(self) -> None:
        """Leave the poll loop at its next safe point (not in the middle of a Redis call)."""
        self._stopping = True
        self._wake_event.set()

    async def _poll_iteration(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._fallback):
                await self._wake_event.wait()
        if self._stopping:
            raise asyncio.CancelledError  # ends main(); DispatcherProcess.run treats it as a stop
        self._wake_event.clear()  # clear before reading the queue: a wake during it is kept
        if self.allow_pick_jobs and self.job_counter < self.max_jobs:
            await self._pick(self.max_jobs - self.job_counter)
        for job_id, t in list(self.tasks.items()):
            if t.done():
                del self.tasks[job_id]
                t.result()  # arq's way of surfacing errors of run_job
        await self.heart_beat()

    async def _pick(self, free: int) -> None:
        prefix, claim_argv = uuid.uuid4().hex, []  # a claimed task's token: prefix:id
        if self._claims is not None and (served := await self._claims.served()):
            claim_argv = [self._claims.owner, self._claims.lease_ms, prefix,
                          *(x for pair in served.items() for x in pair)]
        reply = await self._scripts.run("pickup", [self.queue_name], free, self.queue_read_limit,
                                        int(self.in_progress_timeout_s * 1000), *claim_argv)
        started, claimed = reply.data
        held = {run_job_id(self._scripts.keys, t.id, t.gen): t
                for t in (Task.from_redis(flat) for flat in claimed)}
        for job_b, score_b in zip(started[0::2], started[1::2], strict=True):
            job_id, score = text(job_b), int(float(text(score_b)))
            await self.sem.acquire()
            self.job_counter += 1
            task = held.get(job_id)
            self._run_in_slot(job_id, self.run_job(job_id, score) if task is None else
                              self._run_held(job_id, task, f"{prefix}:{task.id}", score))

    async def _run_held(self, job_id: str, task: Task, token: str, score_ms: int) -> None:
        """A job whose task the pickup claimed: run it, then remove the job (even when the run
        failed or was cancelled: the task's lease, hand-back or result decides what follows)."""
        assert self._claims is not None
        try:
            await self._claims.run(task, token, score_ms / 1000)
        except Exception:
            logger.exception("job %s failed", job_id)
        finally:
            await asyncio.shield(self.finish_job(job_id, True, None, None, False, None, None))

    async def finish_job(self, job_id: str, finish: bool, result_data: bytes | None,
                         result_timeout_s: float | None, keep_result_forever: bool,
                         incr_score: int | None, keep_in_progress: float | None) -> None:
        if result_data or keep_in_progress is not None:  # results and aborts: arq's own way
            await super().finish_job(job_id, finish, result_data, result_timeout_s,
                                     keep_result_forever, incr_score, keep_in_progress)
            return
        async with self.pool.pipeline(transaction=False) as pipe:
            if finish:  # out of the queue first, so no worker picks a half-removed job
                pipe.zrem(self.queue_name, job_id)
                pipe.delete(in_progress_key(job_id), retry_key(job_id), job_key(job_id))
            else:  # to be run again: back in line (pickup.lua scored it out of the due range)
                pipe.zadd(self.queue_name, {job_id: timestamp_ms() + (incr_score or 0)}, xx=True)
                pipe.delete(in_progress_key(job_id))
            await pipe.execute()

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        self._wake_event.set()
        self.slot_freed.set()

    async def reserve(self, keep_free: int = 1) -> bool:
        """Take a job slot for a run that does not come from the queue (a handoff), if more
        than `keep_free` are free: the queue always keeps a slot of its own. Pickups start one
        job less until `unreserve()` or the end of `run_reserved()`."""
        if self.stopping or self.max_jobs - self.job_counter <= keep_free:
            return False
        await self.sem.acquire()  # never waits: fewer than max_jobs slots are taken
        self.job_counter += 1
        return True

    def unreserve(self) -> None:
        self._release_sem_dec_counter_on_complete()

    def run_reserved(self, name: str, run: Awaitable[None]) -> None:
        """Run in the reserved slot (a task of the worker: shutdown cancels it like a job)."""
        async def guarded() -> None:
            try:
                await run
            except Exception:
                logger.exception("%s failed", name)
        self._run_in_slot(name, guarded())

    def _run_in_slot(self, name: str, run: Coroutine[Any, Any, None]) -> None:
        """Run in a slot already taken; the slot is freed when the run ends."""
        t = self.loop.create_task(run)
        t.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
        self.tasks[name] = t

    def finishing(self) -> list[asyncio.Future[Any]]:
        """arq (and `_run_held`) finish a job in a shielded task that outlives the cancelled
        job: those tasks (`Worker.finish_*`, `JobWorker.finish_job`), so that shutdown lets them
        clean up before the pool closes under them."""
        return [t for t in asyncio.all_tasks()
                if "Worker.finish" in getattr(t.get_coro(), "__qualname__", "")]


def task_worker(settings: Settings, redis: Redis, store: TaskStore, run_task: RunTask, *,
                worker_id: str, on_startup: Callable[[dict[str, Any]], Awaitable[None]],
                webhook: Callable[[int], Awaitable[None]] | None = None,
                handle_signals: bool = False, claims: LocalClaims | None = None) -> JobWorker:
    """The worker of a dispatcher's task jobs (and, while they share the queue, webhooks)."""
    async def run(ctx: dict[str, Any], task_id: int, gen: int,
                  task_type: str | None = None) -> None:
        enqueued = ctx.get("enqueue_time")
        await run_task(task_id, gen, task_type,
                       enqueued.timestamp() if isinstance(enqueued, dt.datetime) else None)

    functions = [func(run, name=RUN_TASK)]
    if webhook is not None:
        async def hook(ctx: dict[str, Any], task_id: int) -> None:
            await webhook(task_id)
        functions.append(func(hook, name=FIRE_WEBHOOK, max_tries=1))
    return JobWorker(
        functions=functions, redis_pool=redis, scripts=store.scripts,
        queue_name=store.keys.queue, max_jobs=settings.dispatcher_concurrency,
        job_timeout=7 * 24 * 3600, keep_result=0, max_tries=1_000_000, retry_jobs=True,
        queue_read_limit=max(1000, 10 * settings.dispatcher_concurrency),
        handle_signals=handle_signals, job_completion_wait=int(settings.shutdown_grace_seconds),
        health_check_interval=10, health_check_key=f"{store.keys.p}:health:{worker_id}",
        on_startup=on_startup, fallback_poll=settings.dispatcher_fallback_poll, claims=claims)


def hook_worker(settings: Settings, redis: Redis, store: TaskStore,
                deliver: Deliver) -> JobWorker:
    """The worker of webhook deliveries: their own queue (`{p}:hooks`) and concurrency, so a
    slow receiver never holds a task slot; arq retries a delivery that raised Retry."""
    async def hook(ctx: dict[str, Any], task_id: int) -> None:
        await deliver(task_id, int(ctx.get("job_try") or 1))
    return JobWorker(
        functions=[func(hook, name=FIRE_WEBHOOK, max_tries=settings.webhook_max_attempts)],
        redis_pool=redis, scripts=store.scripts, queue_name=store.keys.hooks_queue,
        max_jobs=settings.webhook_concurrency, job_timeout=settings.webhook_timeout_seconds + 5,
        keep_result=0, retry_jobs=True, handle_signals=False, job_completion_wait=1,
        health_check_interval=3600, health_check_key=f"{store.keys.hooks_queue}:health",
        fallback_poll=settings.dispatcher_fallback_poll)


async def rescue_orphans(store: TaskStore, local_types: list[str], before_ms: int) -> list[int]:
    """New jobs for scheduled tasks of local providers, waiting since before `before_ms`, whose
    job can no longer run them (gone, or marked in progress by a worker that died)."""
    rescued: list[int] = []
    for type_id in local_types:
        ids = await store.waiting_since(type_id, before_ms)
        if ids:
            reply = await store.scripts.run("rescue", [], *ids)
            rescued += [int(text(i)) for i in reply.data]
    return rescued
