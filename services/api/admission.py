"""What /schedule checks before a task is queued, beyond the input shapes.

- `webhookMethod`/`webhookUri` hold what Nextcloud would run (`HTTP:GET|POST|PUT|DELETE` or
  `AppAPI:<appId>:<method>`; an http(s) URI) and fit Nextcloud's columns (64 and 4,000);
- `appId` fits Nextcloud's column (32 characters);
- backpressure: more than `max_queue_depth` scheduled tasks of the type is a 503 with
  Retry-After (metric `taskproc_schedule_refused_total{reason="queue_full"}`);
- a user has at most `max_live_tasks_per_user` scheduled or running tasks (429).

The live-task count reads the user's live set `{p}:user:{uid}:live` and drops the ids whose task
has finished or gone, so it never drifts; concurrent schedules may overshoot it by their number.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from shared.errors import BadRequest, OCSError, TooManyRequests
from shared.http.context import SERVICES
from shared.http.metrics import METRICS

log = logging.getLogger(__name__)
MAX_APP_ID = 32
MAX_WEBHOOK_URI = 4000
MAX_WEBHOOK_METHOD = 64
_METHOD = re.compile(r"HTTP:(GET|POST|PUT|DELETE)|AppAPI:[^:]+:[A-Za-z]+")
METHOD_RULE = ("webhookMethod must be HTTP:GET, HTTP:POST, HTTP:PUT, HTTP:DELETE or "
               "AppAPI:<appId>:<method>")
LIVE = (b"STATUS_SCHEDULED", b"STATUS_RUNNING")


class QueueFull(OCSError):
    """503: too many tasks of this type are waiting; Retry-After says when to try again."""

    status = 503


def check_fields(app_id: str, webhook_uri: str | None, webhook_method: str | None) -> None:
    """400 for an appId or webhook Nextcloud would not store or run."""
    if len(app_id) > MAX_APP_ID:
        raise BadRequest(f"appId must be at most {MAX_APP_ID} characters")
    if webhook_method is not None and (len(webhook_method) > MAX_WEBHOOK_METHOD
                                       or not _METHOD.fullmatch(webhook_method)):
        raise BadRequest(METHOD_RULE)
    if webhook_uri is None:
        return
    if len(webhook_uri) > MAX_WEBHOOK_URI:
        raise BadRequest(f"webhookUri must be at most {MAX_WEBHOOK_URI} characters")
    app_api = (webhook_method or "").startswith("AppAPI:")
    if not app_api and (urlsplit(webhook_uri).scheme not in ("http", "https")
                        or not urlsplit(webhook_uri).hostname):
        raise BadRequest("webhookUri must be an http or https URL")


async def check_capacity(request: web.Request, task_type: str, user_id: str | None) -> None:
    """503 when the type's queue is full, 429 when the user has too many live tasks."""
    svc = request.app[SERVICES]
    settings = svc.settings
    if settings.max_queue_depth > 0:
        depth = await svc.redis.zcard(svc.keys.scheduled(task_type))
        if depth >= settings.max_queue_depth:
            _refused(request, "queue_full")
            raise QueueFull("Too many tasks are waiting in the queue; try again later",
                            headers={"Retry-After": str(settings.queue_full_retry_seconds)})
    if user_id is not None and settings.max_live_tasks_per_user > 0:
        if await live_tasks(request, user_id) >= settings.max_live_tasks_per_user:
            _refused(request, "live_tasks")
            raise TooManyRequests("Too many scheduled or running tasks",
                                  headers={"Retry-After": str(settings.queue_full_retry_seconds)})


async def live_tasks(request: web.Request, user_id: str) -> int:
    """How many of the user's tasks are scheduled or running (finished ones are dropped)."""
    svc = request.app[SERVICES]
    key = svc.keys.user_live(user_id)
    ids = await svc.redis.smembers(key)  # type: ignore[misc]
    if not ids:
        return 0
    async with svc.redis.pipeline(transaction=False) as pipe:
        for i in ids:
            pipe.hget(svc.keys.task(i.decode()), "status")
        statuses = await pipe.execute()
    done = [i for i, s in zip(ids, statuses, strict=True) if s not in LIVE]
    if done:
        await svc.redis.srem(key, *done)  # type: ignore[misc]
    return len(ids) - len(done)


_PENDING: set[asyncio.Future[Any]] = set()


def admitted(request: web.Request, user_id: str | None, task_id: int) -> None:
    """Count a newly scheduled task as live for its user, without delaying the answer (the
    dispatcher may already be running the task)."""
    if user_id is None or request.app[SERVICES].settings.max_live_tasks_per_user <= 0:
        return
    svc = request.app[SERVICES]
    write = asyncio.ensure_future(svc.redis.sadd(  # type: ignore[arg-type]
        svc.keys.user_live(user_id), str(task_id)))
    _PENDING.add(write)
    write.add_done_callback(_done)


def _done(write: asyncio.Future[Any]) -> None:
    _PENDING.discard(write)
    if not write.cancelled() and write.exception() is not None:
        log.warning("could not count a live task: %r", write.exception())


def _refused(request: web.Request, reason: str) -> None:
    metrics = request.app.get(METRICS)
    if metrics is not None:
        metrics.schedule_refused.labels(reason).inc()


def webhook_fields(p: dict[str, Any]) -> tuple[str | None, str | None]:
    """(webhookUri, webhookMethod) as given: strings or absent."""
    out: list[str | None] = []
    for name in ("webhookUri", "webhookMethod"):
        v = p.get(name)
        if v is None or v == "":
            out.append(None)
        elif not isinstance(v, str):
            raise BadRequest(f'Parameter "{name}" must be a string')
        else:
            out.append(v)
    return out[0], out[1]
