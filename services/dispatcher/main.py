"""Build and run a dispatcher process: the job worker plus its background loops.

Loops: the handoff (new tasks straight to a free slot), a pub/sub listener (wake on enqueue,
stop cancelled tasks), provider heartbeats, the lease sweeper and housekeeping (old tasks,
unreferenced files).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from redis.exceptions import RedisError

from services.dispatcher import jobs
from services.dispatcher.dispatcher import Dispatcher
from services.dispatcher.handoff import Handoff
from services.dispatcher.health import HealthServer, HealthState
from services.dispatcher.provider_interface import Provider
from services.dispatcher.supervisor import supervise
from services.dispatcher.webhooks import fire_webhook, webhook_session
from shared.housekeeping import delete_old_tasks
from shared.metrics import Metrics
from shared.pubsub import listen_forever
from shared.redis import REDIS_DOWN, Outage
from shared.settings import Settings
from shared.store import migrate_task_keys

log = logging.getLogger(__name__)

FILE_PURGE_SECONDS = 2.0
"""How often a dispatcher removes the bytes of files deleted where the store is not mounted."""
STALL_FACTOR = 0.7
"""No lease sweep for this many leases means Redis was away (sweeps run every half lease and
leases are renewed every quarter, so only a longer outage can let a live holder's lease lapse)."""


class DispatcherProcess:
    """One dispatcher: worker, loops, and their orderly start and stop."""

    def __init__(self, settings: Settings, providers: list[Provider],
                 handle_signals: bool = False) -> None:
        self.settings = settings
        self.redis = jobs.connect_pool(settings)
        self.metrics = Metrics("dispatcher")
        self.dispatcher = Dispatcher(settings, self.redis, providers, self.metrics)
        self.loops: list[asyncio.Task[None]] = []
        self.outage = Outage(f"dispatcher {self.dispatcher.worker_id}", log)
        self.session: aiohttp.ClientSession | None = None
        self.worker = jobs.task_worker(
            settings, self.redis, self.dispatcher.store, self.dispatcher.run_task,
            worker_id=self.dispatcher.worker_id, on_startup=self._startup,
            handle_signals=handle_signals,
            claims=jobs.LocalClaims(self.dispatcher.worker_id, self.dispatcher.lease_ms,
                                    self.dispatcher.served, self.dispatcher.run_claimed))
        self.hooks = jobs.hook_worker(settings, self.redis, self.dispatcher.store, self._webhook)
        self.handoff = Handoff(self.dispatcher, self.worker, self.outage)
        self.handoff_run: asyncio.Task[None] | None = None
        self.hooks_run: asyncio.Task[None] | None = None
        self.health = HealthServer(
            HealthState(self.metrics, self.dispatcher.stores, lambda: self.worker.stopping,
                        lambda: self.outage.down),
            settings.host, settings.dispatcher_metrics_port)

    async def _webhook(self, task_id: int, attempt: int) -> None:
        assert self.session is not None
        s = self.settings
        await fire_webhook(self.dispatcher.store, self.session, task_id,
                           timeout=s.webhook_timeout_seconds,
                           allow_networks=s.webhook_allow_networks, attempt=attempt,
                           max_attempts=s.webhook_max_attempts)

    async def _startup(self, ctx: dict[str, Any]) -> None:
        """The worker's startup hook; it runs again each time the supervisor restarts the worker
        after an outage: register again (a failover may have lost it), the loops live on."""
        if not self.loops and (moved := await migrate_task_keys(self.redis,
                                                                self.dispatcher.keys)):
            log.info("renamed %d task keys to the hash-tagged layout", moved)
        if self.hooks_run is None:  # once: the supervisor runs this hook again after outages
            self.session = webhook_session(self.settings.webhook_allow_networks,
                                           self.settings.webhook_concurrency)
            self.hooks_run = asyncio.create_task(self._run_hooks())
        ttl = self.settings.provider_heartbeat_seconds * 3
        for provider in self.dispatcher.providers.values():
            await self.dispatcher.registry.register(provider.spec, ttl)
        if self.loops:
            return
        ready = asyncio.Event()
        self.loops = [asyncio.create_task(self._listen(ready)),
                      self._every(self.settings.provider_heartbeat_seconds, self._heartbeat),
                      self._every(self.settings.lease_seconds / 2, self._sweep_leases),
                      self._every(self.settings.orphan_after_seconds / 3,
                                  self._rescue_orphans),
                      self._every(self.settings.housekeeping_interval_seconds,
                                  self._housekeeping),
                      self._every(FILE_PURGE_SECONDS, self._purge_files)]
        await ready.wait()
        self.handoff_run = asyncio.create_task(self.handoff.run(), name="handoff")
        self.health.state.started = True
        log.info("dispatcher %s ready with providers: %s", self.dispatcher.worker_id,
                 ", ".join(self.dispatcher.providers) or "(none)")

    def _every(self, seconds: float, fn: Callable[[], Awaitable[Any]]) -> asyncio.Task[None]:
        async def loop() -> None:
            while True:
                try:
                    await fn()
                    self.outage.recovered()
                except REDIS_DOWN as exc:  # one line per outage, not one per loop and round
                    self.outage.failed(exc)
                except Exception:
                    log.exception("background loop %s failed", fn.__name__)
                await asyncio.sleep(seconds)
        return asyncio.create_task(loop(), name=f"loop {fn.__name__}")

    async def _listen(self, ready: asyncio.Event) -> None:
        """Wake the worker on enqueue; stop local work for cancelled tasks. Reconnects."""
        keys = self.dispatcher.keys

        def subscribed() -> None:
            ready.set()
            self.health.state.listening = True
            self.worker.wake()  # catch up on anything queued while disconnected
            self.hooks.wake()

        def lost(exc: BaseException) -> None:
            self.health.state.listening = False
            if isinstance(exc, REDIS_DOWN):
                self.outage.failed(exc)
        await listen_forever(self.redis, [keys.chan_wake, keys.chan_task], self._on_message,
                             subscribed, lost)

    def _on_message(self, channel: str, data: str) -> None:
        if channel == self.dispatcher.keys.chan_wake:  # the message is the queued job's id
            hook = jobs.is_hook_job(self.dispatcher.keys, data)
            (self.hooks if hook else self.worker).wake()
            return
        task_id, _, status = data.partition(" ")
        if status == "STATUS_CANCELLED":
            self.dispatcher.cancel_local(int(task_id))

    async def _heartbeat(self) -> None:
        await self.dispatcher.registry.heartbeat(list(self.dispatcher.providers),
                                                 self.settings.provider_heartbeat_seconds * 3)

    async def _sweep_leases(self) -> None:
        lease_ms = self.dispatcher.lease_ms  # sweeps run every half lease: a longer gap is a stall
        expired = await self.dispatcher.store.expire_leases(
            self.settings.max_attempts, stall_ms=int(lease_ms * STALL_FACTOR), grace_ms=lease_ms)
        self.metrics.lease_expiries.labels("requeued").inc(len(expired.requeued))
        self.metrics.lease_expiries.labels("failed").inc(len(expired.failed))
        for task_id in expired.requeued:
            log.warning("task %s: lease expired; requeued", task_id, extra={"task_id": task_id})
        for task_id in expired.failed:
            log.warning("task %s: lease expired after the last attempt; failed", task_id,
                        extra={"task_id": task_id})

    async def _rescue_orphans(self) -> None:
        """New jobs for old scheduled tasks of local providers whose job cannot run them."""
        snap = await self.dispatcher.registry.snapshot()
        before = int((time.time() - self.settings.orphan_after_seconds) * 1000)
        local = [t for t, (_, spec) in snap.available().items() if spec.kind == "local"]
        for task_id in await jobs.rescue_orphans(self.dispatcher.store, local, before):
            log.warning("task %s: its job was lost before a claim; queued again", task_id,
                        extra={"task_id": task_id})

    async def _housekeeping(self, batch: int = 500) -> None:
        """Delete tasks past the maximum age and unreferenced files past their TTL."""
        cutoff = int(time.time()) - self.settings.task_max_age_seconds
        await delete_old_tasks(self.dispatcher.store, self.dispatcher.files.store, cutoff,
                               batch=batch)
        while len(await self.dispatcher.files.store.expire_unreferenced(batch)) == batch:
            pass

    async def _purge_files(self, batch: int = 500) -> None:
        """Bytes of files deleted by a process without the store (the api): remove them."""
        while await self.dispatcher.files.store.purge(batch) == batch:
            pass

    async def _run_hooks(self) -> None:
        """The webhook worker, started again after a Redis outage (with backoff) until stopped;
        deliveries it had taken are retried by arq once their in-progress marker lapses."""
        delay = 0.5
        while True:
            try:
                await self.hooks.async_run()
                return
            except (ConnectionError, OSError, RedisError) as exc:
                log.warning("webhook worker lost Redis (%r); again in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _stop_hooks(self) -> None:
        """Stop the webhook worker; a delivery cut off here is tried again by a live one."""
        run = self.hooks_run
        if run is None:
            return
        self.hooks.stop_polling()
        for t in [t for t in self.hooks.tasks.values() if not t.done()]:
            t.cancel()
        await _end(run, timeout=5)

    async def _stop_loops(self) -> None:
        for t in self.loops:
            t.cancel()
        for t in self.loops:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for p in self.dispatcher.providers.values():
            close = getattr(p, "close", None)
            if close is not None:
                await close()
        if self.session is not None:
            await self.session.close()

    async def run(self) -> None:
        """Run until stopped (SIGTERM when handle_signals, or cancellation), then clean up.

        On SIGTERM the worker stops taking jobs and waits up to the grace period; jobs still running
        then are cancelled and hand their task back (Dispatcher._execute releases it).
        """
        try:
            await self.health.start()
            await supervise(self.worker, self.outage)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we were cancelled; otherwise the worker stopped itself on a signal
        finally:
            await self._shutdown()

    def stop(self) -> None:
        """Ask `run()` to return: stop taking jobs, cancel running ones, clean up."""
        self.worker.stop_polling()

    async def _stop_handoff(self) -> None:
        """Withdraw the free slot first, so no task is handed to a stopping dispatcher."""
        if self.handoff_run is None:
            return
        self.handoff.stop()
        await _end(self.handoff_run, timeout=self.handoff.wait + 2)

    async def _shutdown(self) -> None:
        await self._stop_handoff()
        jobs = [t for t in self.worker.tasks.values() if not t.done()]
        for t in jobs:
            t.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        finishing = self.worker.finishing() + list(self.dispatcher.pending)
        if finishing:
            await asyncio.wait(finishing, timeout=5)
        await self.health.stop()
        await self._stop_hooks()
        await self._stop_loops()
        with contextlib.suppress(Exception):
            await self.redis.delete(self.worker.health_check_key)
        await self.redis.aclose(close_connection_pool=True)


async def _end(run: asyncio.Task[None], timeout: float) -> None:
    """Give a loop told to stop `timeout` seconds to end by itself, then cancel it."""
    await asyncio.wait({run}, timeout=timeout)
    if not run.done():
        run.cancel()
    with contextlib.suppress(BaseException):
        await run
