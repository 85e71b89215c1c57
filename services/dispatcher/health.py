"""The dispatcher's small HTTP server: `/healthz`, `/readyz` and `/metrics` for probes and scrapes.

It listens on `dispatcher_metrics_port` (0 picks a free port, negative switches it off). A port
that is taken is logged and skipped rather than fatal, so several dispatchers started by hand
on one host (or in one test process) still run; a probe against the missing server shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.metrics import Metrics
from shared.keys import Keys
from shared.registry import ProviderRegistry

log = logging.getLogger(__name__)


@dataclass
class HealthState:
    """What the probes report: set by DispatcherProcess as it starts and drains."""

    metrics: Metrics
    redis: Redis
    keys: Keys
    registry: ProviderRegistry
    draining: Callable[[], bool]
    """True once a signal told the worker to stop taking jobs."""
    started: bool = False
    listening: bool = False
    """The pub/sub listener is subscribed (wake-ups and cancels reach this process)."""


STATE = web.AppKey("health_state", HealthState)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the event loop answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready while started, subscribed, not draining, and Redis answers a PING."""
    state = request.app[STATE]
    problem = ("draining" if state.draining() else "starting" if not state.started
               else "pub/sub listener reconnecting" if not state.listening else None)
    if problem is None:
        try:
            await state.redis.ping()
        except (RedisError, OSError) as exc:
            problem = f"redis unavailable: {exc!r}"
    if problem is not None:
        return web.json_response({"status": problem}, status=503)
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    await state.metrics.refresh_queues(state.redis, state.keys, state.registry)
    return web.Response(body=state.metrics.render(),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


class HealthServer:
    """Start and stop the probe server beside the worker."""

    def __init__(self, state: HealthState, host: str, port: int) -> None:
        self.state, self.host, self.port = state, host, port
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        if self.port < 0:
            return
        app = web.Application()
        app[STATE] = self.state
        app.router.add_get("/healthz", healthz, allow_head=False)
        app.router.add_get("/readyz", readyz, allow_head=False)
        app.router.add_get("/metrics", metrics, allow_head=False)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            log.error("dispatcher health server not started on %s:%s: %s", self.host,
                      self.port, exc)
            await runner.cleanup()
            return
        self.runner = runner
        self.port = runner.addresses[0][1]
        log.info("dispatcher health and metrics on http://%s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
