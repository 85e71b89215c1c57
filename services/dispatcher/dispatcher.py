"""The dispatcher: one job per task (services/dispatcher/jobs.py); it claims the task, runs
its provider under a lease, stores the result atomically and stops work at once when the task
is cancelled. Most claims are made by the pickup itself for the types `served` here; their
jobs call `run_claimed` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from services.dispatcher.context import TaskContext
from services.dispatcher.files import DispatcherFiles
from services.dispatcher.provider_interface import InvalidOutput, Provider, ProviderError
from shared.errors import BadRequest
from shared.metrics import Metrics
from shared.provider_spec import ProviderSpec
from shared.redis import REDIS_DOWN, Backoff
from shared.registry import Snapshot
from shared.settings import Settings
from shared.store import Renewal
from shared.stores import Stores
from shared.tasks import Status, Task
from shared.validation import OUTPUT_INVALID_MESSAGE, output_file_ids, validate_output

log = logging.getLogger(__name__)

GENERIC_FAILURE = "The provider failed to process the task"
TIMED_OUT = "The task took too long and was stopped"
INVALID_OUTPUT = "The provider returned an invalid result"


class Dispatcher:
    """Runs tasks for the local providers of this process."""

    def __init__(self, settings: Settings, redis: Redis, providers: list[Provider],
                 metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics("dispatcher")
        self.redis = redis
        self.stores = Stores.build(settings, redis)
        self.keys, self.store, self.registry = self.stores.keys, self.stores.tasks, \
            self.stores.registry
        self.files = DispatcherFiles(self.stores.files, redis, self.keys)
        self.providers = {p.spec.id: p for p in providers}
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_ms = int(settings.lease_seconds * 1000)
        self.running: dict[int, asyncio.Task[Any]] = {}
        self.pending: set[asyncio.Future[Any]] = set()
        self.local_types = {p.spec.task_type for p in providers}

    async def served(self) -> dict[str, str]:
        """Task type -> local provider id, for the types whose preferred provider is here
        (after the cached registry, as run_task's first look)."""
        return self._served_in(await self.registry.snapshot(cached=True))

    async def announceable(self) -> tuple[dict[str, str], int]:
        """`served()` after a registry at most one cache age old, and its generation: what a
        free slot is announced for (services/dispatcher/handoff.py; a slot names the provider
        between '|', so an id with one is left to the queue)."""
        snap, gen = await self.registry.unchecked()
        return {t: p for t, p in self._served_in(snap).items() if "|" not in p}, gen

    def _served_in(self, snap: Snapshot) -> dict[str, str]:
        preferred = {t: snap.preferred(t) for t in self.local_types}
        return {t: spec.id for t, spec in preferred.items()
                if spec is not None and self._serves(spec)}

    async def run_task(self, task_id: int, gen: int, task_type: str | None,
                       enqueued_at: float | None) -> None:
        """A task's job: claim and run the task if this dispatcher serves its preferred
        provider. `enqueued_at`: the job's (re)queue time, server clock."""
        if task_type is None:  # a job queued before jobs carried the type
            task = await self.store.get(task_id)
            if task is None or task.status is not Status.SCHEDULED:
                return
            task_type = task.type
        spec = (await self.registry.snapshot(cached=True)).preferred(task_type)
        if not self._serves(spec):  # make sure with the current registry before passing it by
            spec = (await self.registry.snapshot()).preferred(task_type)
        if spec is None or not self._serves(spec):
            return  # an external provider claims it, or a dispatcher that has the provider
        token = uuid.uuid4().hex
        claimed = await self.store.claim(task_id, gen=gen, owner=self.worker_id, token=token,
                                         lease_ms=self.lease_ms, provider_id=spec.id)
        if claimed is not None:
            await self.run_claimed(claimed, token, enqueued_at)

    async def run_claimed(self, task: Task, token: str, enqueued_at: float | None,
                          started: asyncio.Event | None = None) -> None:
        """Run a task this dispatcher claimed (here, in the pickup or by handoff) under its
        lease; `started` is set once the provider's work is scheduled to run."""
        if enqueued_at is not None:
            self.metrics.pickup.labels(task.type).observe(max(0.0, time.time() - enqueued_at))
        await self._execute(self.providers[task.provider_id or ""], task, token, started)

    def _serves(self, spec: ProviderSpec | None) -> bool:
        return spec is not None and spec.kind == "local" and spec.id in self.providers

    async def _execute(self, provider: Provider, task: Task, token: str,
                       started: asyncio.Event | None = None) -> None:
        ctx = TaskContext(self.store, self.files, self.lease_ms, task, token)
        work = asyncio.create_task(provider.process(task.input, ctx))
        if started is not None:
            started.set()  # after create_task: a waiter on it resumes after the work's first step
        self.running[task.id] = work
        keeper = asyncio.create_task(self._keep_lease(task.id, token, work))
        try:  # the lease is kept until the outcome is stored (Redis may be away meanwhile)
            try:
                await asyncio.wait({work}, timeout=self.settings.task_timeout_seconds)
                if not work.done():
                    await self._time_out(provider, task, token, work)
                    return
            except asyncio.CancelledError:  # the worker is shutting down: hand the task back
                work.cancel()
                with contextlib.suppress(BaseException):
                    await work
                await self._shielded(self.store.release(task.id, token))
                self._count(task, provider, "handed_back")
                log.info("task %s handed back at shutdown", task.id, extra={"task_id": task.id})
                raise
            finally:
                self.running.pop(task.id, None)
            if work.cancelled():
                self._count(task, provider, "stopped")
                log.info("task %s stopped: cancelled or lease lost", task.id,
                         extra={"task_id": task.id})
                return
            await self._until_stored(task.id, lambda: self._store_outcome(provider, task, token,
                                                                          work))
        finally:
            keeper.cancel()

    async def _until_stored(self, task_id: int,
                            store: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Store the outcome, retrying with backoff while Redis is unreachable: the work is
        done, and running it again would be worse than waiting."""
        backoff = Backoff(first=0.1, cap=2.0)
        while True:
            try:
                return await store()
            except REDIS_DOWN as exc:
                if backoff.n == 0:
                    log.warning("task %s: Redis unreachable while storing its outcome (%r); "
                                "retrying", task_id, exc, extra={"task_id": task_id})
                await asyncio.sleep(backoff.next())

    async def _time_out(self, provider: Provider, task: Task, token: str,
                        work: asyncio.Task[Any]) -> None:
        """Stop a provider past `task_timeout_seconds` (threads see the cancel through their
        stop event, subprocesses are killed) and fail the task."""
        work.cancel()
        with contextlib.suppress(BaseException):
            await work
        limit = self.settings.task_timeout_seconds
        log.warning("task %s: stopped after %.0f s in %s", task.id, limit, provider.spec.id,
                    extra={"task_id": task.id})
        await self.store.result(task.id, output=None, error_message=f"timed out after {limit} s",
                                user_message=TIMED_OUT, token=token)
        self._count(task, provider, "timed_out")

    async def _keep_lease(self, task_id: int, token: str, work: asyncio.Task[Any]) -> None:
        """Renew the lease every quarter of its length (until cancelled); stop the work if it is
        lost. A renewal that fails because Redis is away is retried: the lease sweep gives
        leases a grace period after a stall (expire.lua), so the holder keeps its task."""
        while True:
            await asyncio.sleep(self.settings.lease_seconds / 4)
            try:
                state = await self.store.renew(task_id, token, self.lease_ms)
            except REDIS_DOWN:
                continue
            if state is not Renewal.HELD:
                log.info("task %s: lease %s; stopping its provider", task_id, state.value,
                         extra={"task_id": task_id})
                work.cancel()
                return

    async def _store_outcome(self, provider: Provider, task: Task, token: str,
                             work: asyncio.Task[Any]) -> None:
        exc = work.exception()
        if exc is not None:
            user_msg = exc.user_message if isinstance(exc, ProviderError) else None
            log.warning("task %s failed in %s: %r", task.id, provider.spec.id, exc,
                        extra={"task_id": task.id})
            await self.store.result(task.id, output=None, error_message=str(exc) or repr(exc),
                                    user_message=user_msg or GENERIC_FAILURE, token=token)
            self._count(task, provider, "failed")
            return
        try:
            output, ids = await self._normalise_output(provider, task, work.result())
        except InvalidOutput:
            await self.store.result(task.id, output=None, error_message=OUTPUT_INVALID_MESSAGE,
                                    user_message=INVALID_OUTPUT, token=token, complete=True)
            self._count(task, provider, "invalid_output")
            return
        stored = await self.store.result(task.id, output=output, token=token, file_ids=ids)
        if stored is not None and not stored.applied:
            self._count(task, provider, "dropped")
            log.info("task %s: result dropped (cancelled or claimed again)", task.id,
                     extra={"task_id": task.id})
            return
        self._count(task, provider, "successful")

    def _count(self, task: Task, provider: Provider, outcome: str) -> None:
        self.metrics.outcomes.labels(task.type, provider.spec.id, outcome).inc()

    async def _normalise_output(self, provider: Provider, task: Task,
                                raw: Any) -> tuple[dict[str, Any], list[int]]:
        """Store file slot values given as bytes/paths, then validate against the shapes.

        Returns the output and the file ids it references."""
        tt = (await self.registry.snapshot(cached=True)).task_type(task.type) or \
            (await self.registry.snapshot()).task_type(task.type)
        if tt is None or not isinstance(raw, dict):
            raise InvalidOutput(OUTPUT_INVALID_MESSAGE)
        shapes = tt.output_shape | provider.spec.optional_output_shape
        out = dict(raw)
        for slot, desc in shapes.items():
            if desc.type.is_file and slot in out:
                out[slot] = await self._store_files(task, slot, out[slot])
        try:
            validated = validate_output(tt, provider.spec, out)
        except BadRequest as exc:  # the api answers an ExApp's bad result with 400; here it fails
            raise InvalidOutput(exc.message) from exc
        ids = output_file_ids(tt, provider.spec, validated)
        await self.files.check_outputs(ids)
        return validated, ids

    async def _store_files(self, task: Task, slot: str, value: Any) -> Any:
        if isinstance(value, list):
            return [await self._store_files(task, slot, v) for v in value]
        if isinstance(value, (bytes, bytearray, Path)):
            return await self.files.store_output(task, value, slot)
        return value

    async def _shielded(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run to the end even if the caller is cancelled; shutdown waits for `self.pending`."""
        task = asyncio.ensure_future(coro)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        return await asyncio.shield(task)

    def cancel_local(self, task_id: int) -> None:
        """Stop the provider working on a task here (a cancel was announced)."""
        work = self.running.get(task_id)
        if work is not None and not work.done():
            work.cancel()
