"""The dispatcher's small HTTP server: `/healthz`, `/readyz` and `/metrics` for probes and scrapes.

The handlers are the ones every role serves (`shared.probes`); this module only adds the
dispatcher's own readiness (started, subscribed, not draining) and the server around them.
It listens on `dispatcher_metrics_port` (0 picks a free port, negative switches it off). A port
that is taken is logged and skipped rather than fatal, so several dispatchers started by hand
on one host (or in one test process) still run; a probe against the missing server shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from shared.metrics import Metrics
from shared.probes import PROBE_ROUTES, PROBES, Probes
from shared.stores import Stores

log = logging.getLogger(__name__)


@dataclass
class HealthState:
    """What the probes report: set by DispatcherProcess as it starts and drains."""

    metrics: Metrics
    stores: Stores
    draining: Callable[[], bool]
    """True once a signal told the worker to stop taking jobs."""
    redis_down: Callable[[], bool] = lambda: False
    """True from a failed Redis call until Redis answers again."""
    started: bool = False
    listening: bool = False
    """The pub/sub listener is subscribed (wake-ups and cancels reach this process)."""

    def problem(self) -> str | None:
        """Why this dispatcher is not ready, or None."""
        return ("draining" if self.draining() else "redis unavailable" if self.redis_down()
                else "starting" if not self.started
                else "pub/sub listener reconnecting" if not self.listening else None)


class HealthServer:
    """Start and stop the probe server beside the worker."""

    def __init__(self, state: HealthState, host: str, port: int) -> None:
        self.state, self.host, self.port = state, host, port
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        if self.port < 0:
            return
        app = web.Application()
        app[PROBES] = Probes(self.state.metrics, lambda: self.state.stores, self.state.problem)
        for path, handler in PROBE_ROUTES:
            app.router.add_get(path, handler, allow_head=False)
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
