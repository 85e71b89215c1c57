"""HTTP metrics of the api and fileproxy: the request middleware, plus the shared probes.

`instrument(app, role)` adds the middleware (outermost) and `/metrics`, `/healthz`, `/readyz`
(`shared.http.probes`, unless the app has its own) to an app that carries the Services context.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from prometheus_client import Counter, Histogram

from shared.http.context import SERVICES
from shared.http.probes import PROBE_ROUTES, PROBES
from shared.http.routes import Access, Handler, Route, add_routes
from shared.metrics import Metrics
from shared.probes import Probes

METRICS = web.AppKey("metrics", Metrics)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


_SERIES = web.AppKey("http_series", dict)
_MAX_SERIES = 10_000
"""Series kept at hand, at most (past that they are looked up each time)."""


def _series(app: web.Application, route: str, method: str,
            status: int) -> tuple[Counter, Histogram]:
    """The request counter and latency series of one route, method and status, looked up in
    their families once instead of on every request."""
    found: dict[tuple[str, str, int], tuple[Counter, Histogram]] = app[_SERIES]
    key = (route, method, status)
    series = found.get(key)
    if series is None:
        metrics = app[METRICS]
        series = (metrics.requests.labels(route, method, str(status)),
                  metrics.latency.labels(route, method))
        if len(found) < _MAX_SERIES:
            found[key] = series
    return series


@web.middleware
async def http_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request by route template, method and status."""
    start, status = time.perf_counter(), 500
    response_headers = None
    metrics = request.app[METRICS]
    metrics.in_flight.inc()
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
        route = _route(request)
        metrics.in_flight.dec()
        requests, latency = _series(request.app, route, request.method, status)
        requests.inc()
        latency.observe(time.perf_counter() - start)
        if status == 429 or "Retry-After" in (response_headers or {}):
            metrics.rate_limited.labels(route).inc()  # OCS v1 answers a refusal with HTTP 200


def instrument(app: web.Application, role: str) -> Metrics:
    """Add the metrics middleware (outermost) and `/metrics`, `/healthz`, `/readyz` if absent.

    Idempotent: a factory and a role runner may both call it.
    """
    if METRICS in app:
        return app[METRICS]
    metrics = app[METRICS] = Metrics(role)
    app[_SERIES] = {}
    app[PROBES] = Probes(metrics, lambda: app[SERVICES])
    app.middlewares.insert(0, http_metrics)
    have = {r.canonical for r in app.router.resources()}
    add_routes(app, [Route("GET", path, handler, Access.PUBLIC, csrf=False)
                     for path, handler in PROBE_ROUTES if path not in have], prefixes=("",))
    return metrics
