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

`Metrics` holds the families; `shared.http.metrics.instrument(app, role)` adds the HTTP
middleware and `/metrics`, `/healthz`, `/readyz` to the api and fileproxy apps, and
`services.dispatcher.health` serves them for a dispatcher.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.process_collector import ProcessCollector
from redis.asyncio import Redis
from redis.exceptions import RedisError

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
        self.schedule_refused = Counter(
            "taskproc_schedule_refused", "Schedules refused for capacity: queue_full (the "
            "type's queue is past max_queue_depth, 503) or live_tasks (429)", ["reason"],
            registry=r)
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
