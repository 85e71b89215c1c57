"""What /schedule checks before a task is queued, beyond the input shapes.

- `webhookMethod`/`webhookUri` hold what Nextcloud would run (`HTTP:GET|POST|PUT|DELETE` or
  `AppAPI:<appId>:<method>`; an http(s) URI) and fit Nextcloud's columns (64 and 4,000);
- `appId` fits Nextcloud's column (32 characters);
- backpressure: more than `max_queue_depth` scheduled tasks of the type is a 503 with
  Retry-After (metric `taskproc_schedule_refused_total{reason="queue_full"}`);
- a user has at most `max_live_tasks_per_user` scheduled or running tasks (429).

The caps are applied by the schedule script (shared/lua/schedule.lua) in the same step as the
write, so concurrent schedules cannot overshoot them: the queue's ZCARD, and the user's live set
`{p}:user:{uid}:live`, whose finished or deleted ids are dropped only when it reaches the cap.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from shared.errors import BadRequest, OCSError, TooManyRequests
from shared.http.context import SERVICES
from shared.http.metrics import METRICS
from shared.settings import Settings
from shared.store import Admission, Refusal, Refused

MAX_APP_ID = 32
MAX_WEBHOOK_URI = 4000
MAX_WEBHOOK_METHOD = 64
_METHOD = re.compile(r"HTTP:(GET|POST|PUT|DELETE)|AppAPI:[^:]+:[A-Za-z]+")
METHOD_RULE = ("webhookMethod must be HTTP:GET, HTTP:POST, HTTP:PUT, HTTP:DELETE or "
               "AppAPI:<appId>:<method>")


class QueueFull(OCSError, status=503):
    """Too many tasks of this type are waiting; Retry-After says when to try again."""


def check_fields(app_id: str, webhook_uri: str | None, webhook_method: str | None) -> None:
    """400 for an appId or webhook Nextcloud would not store or run."""
    if len(app_id) > MAX_APP_ID:
        raise BadRequest(f"appId must be at most {MAX_APP_ID} characters")
    if webhook_method is not None and (len(webhook_method) > MAX_WEBHOOK_METHOD
                                       or not _METHOD.fullmatch(webhook_method)):
        raise BadRequest(METHOD_RULE)
    if webhook_uri is not None:
        _check_webhook_uri(webhook_uri, app_api=(webhook_method or "").startswith("AppAPI:"))


def _check_webhook_uri(uri: str, app_api: bool) -> None:
    """An AppAPI webhook names a route of the ExApp; any other is an absolute http(s) URL."""
    if len(uri) > MAX_WEBHOOK_URI:
        raise BadRequest(f"webhookUri must be at most {MAX_WEBHOOK_URI} characters")
    parts = urlsplit(uri)
    if not app_api and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise BadRequest("webhookUri must be an http or https URL")


def limits(settings: Settings, registry_gen: int | None) -> Admission:
    """The caps the schedule script applies as it writes (0 switches one off)."""
    return Admission(registry_gen=registry_gen, max_queued=max(settings.max_queue_depth, 0),
                     max_live=max(settings.max_live_tasks_per_user, 0))


_REFUSALS: dict[Refusal, tuple[type[OCSError], str]] = {
    Refusal.QUEUE_FULL: (QueueFull, "Too many tasks are waiting in the queue; try again later"),
    Refusal.LIVE_TASKS: (TooManyRequests, "Too many scheduled or running tasks"),
}


def refusal(request: web.Request, refused: Refused) -> OCSError:
    """The answer to a schedule the caps refused (503 full queue, 429 live tasks), counted."""
    _refused(request, refused.reason.value)
    error, message = _REFUSALS[refused.reason]
    retry = request.app[SERVICES].settings.queue_full_retry_seconds
    return error(message, headers={"Retry-After": str(retry)})


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
