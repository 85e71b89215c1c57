"""Handoff: a new task goes straight to a dispatcher that is waiting for one.

An idle dispatcher announces one free slot for the task types its providers serve
(shared/lua/idle.lua) and waits on those types' handoff lists (BLPOP). schedule.lua claims a new
task of such a type for the freshest slot, under the registry generation the slot was announced
with, and pushes it with its lease token and expiry; the dispatcher starts it on receipt: no
job, no wake-up, no pickup round trip. Everything else (no slot announced, requeues, a burst
beyond the slots) goes through the job queue (jobs.py), which always keeps a slot of its own.

Nothing is lost or run twice: a task pushed for a dispatcher that died, or popped by one whose
connection dropped, is RUNNING under a lease nobody renews, and the lease sweep requeues it. A
task popped more than half a lease after it was pushed (its lease may have lapsed and the task
run elsewhere) starts only once its lease is renewed; one whose provider is not here, or that
arrives while the dispatcher stops, is handed back to the queue (release.lua).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable

import orjson

from services.dispatcher.dispatcher import Dispatcher
from services.dispatcher.jobs import JobWorker
from shared.redis import REDIS_DOWN, Backoff, Outage
from shared.store import Renewal
from shared.tasks import Task

log = logging.getLogger(__name__)

WAIT_SECONDS = 1.0
"""One wait on the handoff lists; the slot is announced again after each."""
STAND_MS = 3000
"""A slot lapses unless announced again: a dead dispatcher's slot is taken for at most this long."""


class Handoff:
    """The loop of one dispatcher process: reserve a job slot, announce it, wait, start."""

    def __init__(self, dispatcher: Dispatcher, worker: JobWorker, outage: Outage) -> None:
        self.d, self.worker, self.outage = dispatcher, worker, outage
        self.keys, self.scripts = dispatcher.keys, dispatcher.store.scripts
        self.wait = min(WAIT_SECONDS, dispatcher.settings.redis_socket_timeout / 2)
        self._slots: dict[str, str] = {}  # idle key -> the slot announced there
        self._offset_ms = 0.0  # Redis clock minus ours, from the last announcement
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Until `stop()`: hand-offs while a slot is free; Redis outages are waited out."""
        backoff = Backoff(first=0.1, cap=2.0)
        while not self._stopping.is_set():
            try:
                await self._round()
                backoff.reset()
            except REDIS_DOWN as exc:
                self.outage.failed(exc)
                await self._pause(backoff.next())
            except Exception:  # a bug must not end hand-offs for good; the queue still runs
                log.exception("handoff failed; again in %.0f s", self.wait)
                await self._pause(self.wait)
        with contextlib.suppress(*REDIS_DOWN):
            await self._announce({}, 0)

    def stop(self) -> None:
        """Stop announcing (the loop ends within one wait); a task popped meanwhile is handed
        back."""
        self._stopping.set()
        self.worker.slot_freed.set()

    async def _pause(self, seconds: float) -> None:
        await _at_most(seconds, self._stopping)

    async def _round(self) -> None:
        self.worker.slot_freed.clear()
        if not await self.worker.reserve():
            await _at_most(self.wait, self.worker.slot_freed)
            return
        try:
            popped = await self._wait_for_task()
        except BaseException:
            self.worker.unreserve()
            raise
        if popped is None:
            self.worker.unreserve()
        else:
            await self._start(popped)

    async def _wait_for_task(self) -> bytes | None:
        """Announce the slot and wait on the handoff lists of the types served here."""
        served, gen = await self.d.announceable()
        await self._announce(served, gen)
        if not served:  # nothing to announce: wait as long as a round would
            await self._pause(self.wait)
            return None
        popped = await self.d.redis.blpop(  # type: ignore[misc]
            [self.keys.handoff(t) for t in served],
            timeout=self.wait)  # type: ignore[arg-type]  # Redis 6+ takes seconds as a float
        return None if popped is None else popped[1]

    async def _announce(self, served: dict[str, str], gen: int) -> None:
        """One slot per served type (replacing the slots announced before); {} withdraws.
        Should the call fail, the slots announced before are withdrawn by the next one."""
        nonce = uuid.uuid4().hex
        announced = {self.keys.idle(ttype): f"{gen}|{self.d.lease_ms}|{provider_id}|{nonce}|"
                     f"{self.d.worker_id}" for ttype, provider_id in served.items()}
        keys = [*announced, *(k for k in self._slots if k not in announced)]
        if not keys:
            return
        argv = [x for k in keys for x in (self._slots.get(k, ""), announced.get(k, ""))]
        reply = await self.scripts.run("idle", keys, STAND_MS if served else 0, *argv)
        self._slots = announced
        self._offset_ms = int(reply.data[0]) - time.time() * 1000

    async def _start(self, raw: bytes) -> None:
        """Run a task pushed for a slot of this dispatcher, in the slot reserved for it; returns
        once its provider has started (or the run ended), so that announcing the next slot
        does not delay this one."""
        try:
            item = orjson.loads(raw)
            task, token = Task.from_redis(item["task"]), str(item["token"])
            expires, lease = float(item["expires"]), float(item["lease"])
        except Exception:  # not what schedule.lua writes; its task, if any, is the sweep's
            log.warning("handoff: unreadable item dropped: %r", raw[:200])
            self.worker.unreserve()
            return
        pushed_at = (expires - lease - self._offset_ms) / 1000  # our clock, unix seconds
        started = asyncio.Event()
        run: Awaitable[None]
        if self._stopping.is_set() or task.provider_id not in self.d.providers:
            run = self._hand_back(task, token)
        elif time.time() * 1000 + self._offset_ms < expires - lease / 2:
            run = self.d.run_claimed(task, token, pushed_at, started)
        else:
            run = self._run_if_held(task, token, pushed_at)
        self.worker.run_reserved(f"handoff:{task.id}:{task.gen}", _setting(started, run))
        await started.wait()

    async def _run_if_held(self, task: Task, token: str, pushed_at: float) -> None:
        """A task that waited long in the list: run it only if its lease still holds."""
        if await self.d.store.renew(task.id, token, self.d.lease_ms) is Renewal.HELD:
            await self.d.run_claimed(task, token, pushed_at)
        else:
            log.info("task %s: handed off too long ago; left to its current holder", task.id,
                     extra={"task_id": task.id})

    async def _hand_back(self, task: Task, token: str) -> None:
        await self.d.store.release(task.id, token)
        log.info("task %s: handed back to the queue", task.id, extra={"task_id": task.id})


async def _at_most(seconds: float, event: asyncio.Event) -> None:
    """Wait for `event`, `seconds` at the most."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


async def _setting(event: asyncio.Event, run: Awaitable[None]) -> None:
    """Run, then set `event` (if the run did not set it before)."""
    try:
        await run
    finally:
        event.set()
