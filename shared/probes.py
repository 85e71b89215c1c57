"""The probe and scrape answers every role gives: `/healthz`, `/readyz` and `/metrics`.

Server-neutral: each answer is a coroutine that reads a `Probes` and returns an `Answer`
(status, body, content type). The api and fileproxy serve them through aiohttp handlers
(`shared.http.probes`, mounted by `shared.http.metrics.instrument`); the dispatcher, which loads
no aiohttp server code, from a standard-library server (`services.dispatcher.health`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError

from shared.metrics import Metrics
from shared.stores import Stores

log = logging.getLogger(__name__)

JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


def _always_ready() -> str | None:
    return None


@dataclass
class Probes:
    """What the probe answers of one process read."""

    metrics: Metrics
    stores: Callable[[], Stores]
    """The process's stores (a callable: an app builds them only when it starts)."""
    problem: Callable[[], str | None] = _always_ready
    """The role's own reason not to be ready (starting, draining…), or None."""


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, whatever server sends it."""

    status: int
    body: bytes
    content_type: str

    @classmethod
    def status_json(cls, status: str, code: int = 200) -> Answer:
        """`{"status": …}` as aiohttp's `json_response` writes it."""
        return cls(code, json.dumps({"status": status}).encode(), JSON)


async def healthz(probes: Probes) -> Answer:
    """Liveness: the process answers."""
    return Answer.status_json("ok")


async def readyz(probes: Probes) -> Answer:
    """Readiness: the role has no problem to report and Redis answers a PING."""
    problem = probes.problem()
    if problem is None:
        try:
            await probes.stores().redis.ping()
        except (RedisError, OSError) as exc:  # the role logs the outage (once)
            log.debug("not ready: %r", exc)
            problem = "redis unavailable"
    if problem is not None:
        return Answer.status_json(problem, 503)
    return Answer.status_json("ok")


async def metrics(probes: Probes) -> Answer:
    """Prometheus text format; queue figures are read from Redis now."""
    stores = probes.stores()
    await probes.metrics.refresh_queues(stores.redis, stores.keys, stores.registry)
    return Answer(200, probes.metrics.render(), CONTENT_TYPE_LATEST)


ProbeAnswer = Callable[[Probes], Coroutine[Any, Any, Answer]]
PROBE_ANSWERS: dict[str, ProbeAnswer] = {"/metrics": metrics, "/healthz": healthz,
                                         "/readyz": readyz}
"""Path -> its answer; every server of probes serves these GET routes."""
