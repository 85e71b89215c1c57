"""Prometheus metrics of every role, one registry per process (each process is scraped alone).

    taskproc_http_requests_total{route,method,status}        api, fileproxy
    taskproc_http_request_duration_seconds{route,method}     api, fileproxy (histogram)
    taskproc_http_requests_in_flight                         api, fileproxy (long polls, streams)
    taskproc_rate_limit_refusals_total{route}                api (429 answers)
    taskproc_queue_depth{type}                               every role, read from Redis on scrape
    taskproc_queue_oldest_waiting_seconds{type}              every role, read from Redis on scrape
    taskproc_tasks_running{type}                             every role, read from Redis on scrape
    taskproc_redis_up                                        1 when the scrape could read Redis
    taskproc_task_pickup_seconds{type}                       dispatcher: (re)queued -> claimed
    taskproc_task_outcomes_total{type,provider,outcome}      dispatcher: how its runs ended
    taskproc_lease_expiries_total{outcome}                   dispatcher: requeued | failed

`instrument(app, role)` adds the HTTP middleware and `/metrics` (plus `/healthz` and `/readyz`
unless the app has its own) to an aiohttp app that carries the api's Services context.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.process_collector import ProcessCollector
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.api.context import SERVICES
from services.api.security import Access, Handler, access
from shared.keys import Keys
from shared.registry import ProviderRegistry
from shared.shapes import CORE_TASK_TYPES

log = logging.getLogger(__name__)

PICKUP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)


class Metrics:
    """The metric families of one process, in a registry of their own."""

    def __init__(self, role: str) -> None:
        r = self.registry = CollectorRegistry()
        ProcessCollector(registry=r)
        Gauge("taskproc_role_info", "The role of this process", ["role"],
              registry=r).labels(role).set(1)
        self.requests = Counter("taskproc_http_requests", "HTTP requests answered",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("taskproc_http_request_duration_seconds",
                                 "Time to answer an HTTP request (streamed bodies included)",
                                 ["route", "method"], registry=r)
        self.in_flight = Gauge("taskproc_http_requests_in_flight",
                               "Requests being handled now", registry=r)
        self.rate_limited = Counter("taskproc_rate_limit_refusals",
                                    "Requests refused by a rate limit (429)", ["route"], registry=r)
        self.queue_depth = Gauge("taskproc_queue_depth", "Scheduled tasks waiting", ["type"],
                                 registry=r)
        self.queue_oldest = Gauge("taskproc_queue_oldest_waiting_seconds",
                                  "Age of the oldest waiting task (0 when none)", ["type"],
                                  registry=r)
        self.running = Gauge("taskproc_tasks_running", "Tasks running", ["type"], registry=r)
        self.redis_up = Gauge("taskproc_redis_up", "1 when the last scrape could read Redis",
                              registry=r)
        self.pickup = Histogram("taskproc_task_pickup_seconds",
                                "From queueing (or requeueing) to a dispatcher's claim",
                                ["type"], buckets=PICKUP_BUCKETS, registry=r)
        self.outcomes = Counter("taskproc_task_outcomes", "How this dispatcher's runs ended",
                                ["type", "provider", "outcome"], registry=r)
        self.lease_expiries = Counter("taskproc_lease_expiries",
                                      "Expired leases found by this dispatcher's sweeper",
                                      ["outcome"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def refresh_queues(self, redis: Redis, keys: Keys, registry: ProviderRegistry) -> None:
        """Set the queue gauges from Redis: one pipelined round trip over the known types."""
        try:
            types = await task_types(registry)
            figures = await queue_figures(redis, keys, types)
        except (RedisError, OSError) as exc:
            log.warning("metrics: cannot read the queues: %r", exc)
            self.redis_up.set(0)
            return
        for gauge in (self.queue_depth, self.queue_oldest, self.running):
            gauge.clear()
        for ttype, (depth, oldest, running) in figures.items():
            self.queue_depth.labels(ttype).set(depth)
            self.queue_oldest.labels(ttype).set(oldest)
            self.running.labels(ttype).set(running)
        self.redis_up.set(1)


async def task_types(registry: ProviderRegistry) -> list[str]:
    """Core types, custom (ExApp) types and every type a provider serves."""
    snap = await registry.snapshot()
    return sorted(set(CORE_TASK_TYPES) | set(snap.custom_types)
                  | {s.task_type for s in snap.providers.values()})


async def queue_figures(redis: Redis, keys: Keys,
                        types: Sequence[str]) -> dict[str, tuple[int, float, int]]:
    """type -> (waiting, age in s of the oldest waiting, running), on the server's clock."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.time()
        for t in types:
            pipe.zcard(keys.scheduled(t))
            pipe.zrange(keys.scheduled(t), 0, 0, withscores=True)
            pipe.zcard(keys.running(t))
        res = await pipe.execute()
    now_ms = res[0][0] * 1000 + res[0][1] / 1000
    out = {}
    for i, t in enumerate(types):
        depth, head, running = res[1 + 3 * i: 4 + 3 * i]
        oldest = max(0.0, (now_ms - head[0][1]) / 1000) if head else 0.0
        out[t] = (int(depth), oldest, int(running))
    return out


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


@access(Access.PUBLIC, csrf=False)
async def metrics_handler(request: web.Request) -> web.Response:
    """Prometheus text format; queue figures are read from Redis now."""
    metrics, svc = request.app[METRICS], request.app[SERVICES]
    await metrics.refresh_queues(svc.redis, svc.keys, svc.registry)
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})


@access(Access.PUBLIC, csrf=False)
async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


@access(Access.PUBLIC, csrf=False)
async def readyz(request: web.Request) -> web.Response:
    """Readiness: Redis answers a PING."""
    try:
        await request.app[SERVICES].redis.ping()
    except (RedisError, OSError) as exc:
        log.warning("not ready: %r", exc)
        return web.json_response({"status": "redis unavailable"}, status=503)
    return web.json_response({"status": "ok"})


def instrument(app: web.Application, role: str) -> Metrics:
    """Add the metrics middleware (outermost) and `/metrics`, `/healthz`, `/readyz` if absent.

    Idempotent: a factory and a role runner may both call it.
    """
    if METRICS in app:
        return app[METRICS]
    metrics = app[METRICS] = Metrics(role)
    app.middlewares.insert(0, http_metrics)
    have = {r.canonical for r in app.router.resources()}
    for path, handler in (("/metrics", metrics_handler), ("/healthz", healthz),
                          ("/readyz", readyz)):
        if path not in have:
            app.router.add_get(path, handler, allow_head=False)
    return metrics
