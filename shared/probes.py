"""The probe and scrape handlers every role serves: `/healthz`, `/readyz` and `/metrics`.

The api and fileproxy mount them with `shared.http.metrics.instrument`, the dispatcher on its
own small server (`services.dispatcher.health`). The `Probes` on the app says what they read:
the process's metrics, its stores, and the role's own reason not to be ready (if any).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError

from shared.metrics import Metrics
from shared.stores import Stores

log = logging.getLogger(__name__)


def _always_ready() -> str | None:
    return None


@dataclass
class Probes:
    """What the probe handlers of one app read."""

    metrics: Metrics
    stores: Callable[[], Stores]
    """The process's stores (a callable: an app builds them only when it starts)."""
    problem: Callable[[], str | None] = _always_ready
    """The role's own reason not to be ready (starting, draining…), or None."""


PROBES = web.AppKey("probes", Probes)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the role has no problem to report and Redis answers a PING."""
    probes = request.app[PROBES]
    problem = probes.problem()
    if problem is None:
        try:
            await probes.stores().redis.ping()
        except (RedisError, OSError) as exc:  # the role logs the outage (once)
            log.debug("not ready: %r", exc)
            problem = "redis unavailable"
    if problem is not None:
        return web.json_response({"status": problem}, status=503)
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; queue figures are read from Redis now."""
    probes = request.app[PROBES]
    stores = probes.stores()
    await probes.metrics.refresh_queues(stores.redis, stores.keys, stores.registry)
    return web.Response(body=probes.metrics.render(),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


PROBE_ROUTES = (("/metrics", metrics), ("/healthz", healthz), ("/readyz", readyz))
