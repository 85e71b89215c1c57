"""The bridge's loops: pull Nextcloud's tasks, hold them, adopt orphans, keep providers in sync.

    pull     next_batch (long poll where supported; else an idle pause that doubles up to a
             cap and ends at once on AppAPI's trigger call) -> reserve -> Relay.run
    leases   renew this instance's holds; adopt holds whose holder stopped renewing
    sync     while enabled, register a Nextcloud provider for each served type (and drop the
             ones no longer served)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

from redis.exceptions import RedisError

from services.bridge import specs
from services.bridge.metrics import BridgeMetrics
from services.bridge.relay import Relay
from services.bridge.state import BridgeState
from services.bridge.upstream import Claimed, Upstream, UpstreamError
from shared.registry import ProviderRegistry
from shared.settings_bridge import BridgeSettings

log = logging.getLogger("taskproc.bridge")
SYNC_SECONDS = 30.0


def instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Bridge:
    """One bridge instance; several may run against one Nextcloud and one Redis."""

    def __init__(self, bs: BridgeSettings, upstream: Upstream, state: BridgeState,
                 relay: Relay, registry: ProviderRegistry, metrics: BridgeMetrics) -> None:
        self.bs, self.upstream, self.state, self.relay = bs, upstream, state, relay
        self.registry, self.metrics = registry, metrics
        self.trigger = asyncio.Event()
        self.enabled_changed = asyncio.Event()
        self.held: dict[int, asyncio.Task[None]] = {}
        self.registered: set[str] = set()
        self.ready = False
        self.started_ready = False
        self.started = time.time()

    # -- pulling ------------------------------------------------------------------------------

    async def pull_forever(self) -> None:
        pause = self.bs.idle_interval
        while True:
            if not await self._may_pull():
                continue
            try:
                began = time.monotonic()
                claimed, more = await self._pull()
            except (UpstreamError, RedisError, OSError) as exc:
                self.metrics.upstream_errors.labels("next_batch").inc()
                self.metrics.upstream_up.set(0)
                log.warning("pulling from Nextcloud failed: %s; next try in %.1f s", exc, pause)
                await self._pause(pause)
                pause = min(pause * 2, self.bs.idle_max_interval)
                continue
            self.metrics.upstream_up.set(1)
            if claimed or more:
                pause = self.bs.idle_interval
            elif time.monotonic() - began < self.bs.wait_seconds / 2:
                await self._pause(pause)  # the upstream did not hold the request: no long poll
                pause = min(pause * 2, self.bs.idle_max_interval)

    async def _may_pull(self) -> bool:
        """Wait while disabled, nothing is served, or every slot is taken."""
        if not await self.state.enabled() or not self.registered:
            self.enabled_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.enabled_changed.wait(), SYNC_SECONDS)
            return False
        if len(self.held) >= self.bs.max_in_flight:
            await asyncio.wait(list(self.held.values()), return_when=asyncio.FIRST_COMPLETED)
            return False
        return True

    async def _pull(self) -> tuple[list[Claimed], bool]:
        types = sorted(self.registered)
        ids = [specs.provider_id(self.bs, t) for t in types]
        room = min(self.bs.batch, self.bs.max_in_flight - len(self.held))
        self.trigger.clear()
        claimed, more = await self.upstream.next_batch(ids, types, room, self.bs.wait_seconds)
        self.metrics.polls.inc()
        for item in claimed:
            await self._take(item)
        return claimed, more

    async def _take(self, item: Claimed) -> None:
        nc_id = int(item.task["id"])
        if not await self.state.reserve(item.task, item.provider_id):
            self.metrics.duplicates.inc()
            log.warning("Nextcloud task %s was handed out twice; another replica holds it",
                        nc_id)
            return
        self.metrics.pulled.labels(str(item.task.get("type", ""))).inc()
        self._start(nc_id)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.trigger.wait(), seconds)

    def _start(self, nc_id: int) -> None:
        task = asyncio.create_task(self._relay(nc_id), name=f"bridge-nc-{nc_id}")
        self.held[nc_id] = task
        self.metrics.running.set(len(self.held))

    async def _relay(self, nc_id: int) -> None:
        try:
            held = await self.state.load(nc_id)
            if held is not None:
                await self.relay.run(held)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:  # an outage: the hold stays, it is adopted after
            log.info("relaying Nextcloud task %s paused by a Redis outage (%s)", nc_id, exc)
        except Exception:  # the hold stays in Redis; its lease runs out and it is adopted
            log.exception("relaying Nextcloud task %s failed; it will be retried", nc_id)
        finally:
            self.held.pop(nc_id, None)
            self.metrics.running.set(len(self.held))

    # -- leases -------------------------------------------------------------------------------

    async def leases_forever(self) -> None:
        every = self.bs.lease_seconds / 3
        while True:
            try:
                await self._leases_once()
            except (RedisError, OSError) as exc:
                if self.ready:  # one line per outage; /readyz says not ready meanwhile
                    log.warning("Redis unavailable (%s); the bridge waits for it", exc)
                self.ready = False
            await asyncio.sleep(every)

    async def _leases_once(self) -> None:
        for nc_id in await self.state.renew(list(self.held)):
            log.warning("Nextcloud task %s is now held by another replica; stopping here", nc_id)
            if (task := self.held.pop(nc_id, None)) is not None:
                task.cancel()
        for nc_id in await self.state.expired():
            if nc_id not in self.held and len(self.held) < self.bs.max_in_flight \
                    and await self.state.adopt(nc_id):
                log.info("adopting Nextcloud task %s from a stopped replica", nc_id)
                self.metrics.adopted.inc()
                self._start(nc_id)
        await self.state.publish_status({
            "seen": time.time(), "started": self.started, "held": len(self.held),
            "serving": len(self.registered), "upstream": self.bs.nextcloud_url})
        if not self.ready and self.started_ready:
            log.info("Redis reachable again; the bridge resumes")
        self.ready = self.started_ready = True

    # -- providers ----------------------------------------------------------------------------

    async def sync_forever(self) -> None:
        while True:
            try:
                await self.sync_providers()
            except (UpstreamError, RedisError, OSError) as exc:
                log.warning("provider registration in Nextcloud failed: %s", exc)
            self.enabled_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.enabled_changed.wait(), SYNC_SECONDS)

    async def sync_providers(self) -> None:
        """Register what is served while enabled; unregister everything when disabled."""
        enabled = await self.state.enabled()
        snap = await self.registry.snapshot(fresh=True)
        wanted = specs.served(snap, self.bs) if enabled else {}
        for task_type, spec in wanted.items():
            if task_type not in self.registered:
                await self.upstream.register(specs.registration(self.bs, spec))
                log.info("registered provider %s in Nextcloud", specs.provider_id(self.bs,
                                                                                   task_type))
                self.registered.add(task_type)
        for task_type in sorted(self.registered - set(wanted)):
            await self.upstream.unregister(specs.provider_id(self.bs, task_type))
            self.registered.discard(task_type)
            log.info("unregistered provider %s", specs.provider_id(self.bs, task_type))

    async def set_enabled(self, enabled: bool) -> None:
        await self.state.set_enabled(enabled)
        await self.sync_providers()
        self.enabled_changed.set()
