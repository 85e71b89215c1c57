"""HTTP metrics of the api and fileproxy: the request middleware, plus the shared probes.

`instrument(app, role)` adds the middleware (outermost) and `/metrics`, `/healthz`, `/readyz`
(`shared.http.probes`, unless the app has its own) to an app that carries the Services context.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from shared.http.context import SERVICES
from shared.http.probes import PROBE_ROUTES, PROBES
from shared.http.routes import Access, Handler, Route, add_routes
from shared.metrics import Metrics
from shared.probes import Probes

METRICS = web.AppKey("metrics", Metrics)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def http_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request by route template, method and status."""
    start, status = time.perf_counter(), 500
    response_headers = None
    request.app[METRICS].in_flight.inc()
    try:
        response = await handler(request)
        status, response_headers = response.status, response.headers
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away (nginx's code for it)
        raise
    finally:
        metrics, route = request.app[METRICS], _route(request)
        metrics.in_flight.dec()
        metrics.requests.labels(route, request.method, str(status)).inc()
        metrics.latency.labels(route, request.method).observe(time.perf_counter() - start)
        if status == 429 or "Retry-After" in (response_headers or {}):
            metrics.rate_limited.labels(route).inc()  # OCS v1 answers a refusal with HTTP 200


def instrument(app: web.Application, role: str) -> Metrics:
    """Add the metrics middleware (outermost) and `/metrics`, `/healthz`, `/readyz` if absent.

    Idempotent: a factory and a role runner may both call it.
    """
    if METRICS in app:
        return app[METRICS]
    metrics = app[METRICS] = Metrics(role)
    app[PROBES] = Probes(metrics, lambda: app[SERVICES])
    app.middlewares.insert(0, http_metrics)
    have = {r.canonical for r in app.router.resources()}
    add_routes(app, [Route("GET", path, handler, Access.PUBLIC, csrf=False)
                     for path, handler in PROBE_ROUTES if path not in have], prefixes=("",))
    return metrics
