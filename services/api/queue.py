"""Queue figures: `GET /queue_stats` (Nextcloud 34, admins) and
`GET /tasks/{taskId}/queue_position` (Nextcloud 35) (TaskProcessingApiController)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.api.tasks import _ok, task_id
from shared.errors import BadRequest, NotFound, PreconditionFailed
from shared.http.auth import task_owner
from shared.http.context import SERVICES
from shared.http.params import params
from shared.http.routes import Access, Route
from shared.http.security import principal
from shared.shapes import CORE_TASK_TYPES
from shared.tasks import Status


def _type_filter(p: dict[str, Any]) -> list[str]:
    """`taskTypeId=a,b` (the admin doc), `taskTypeIds[]=a` or a JSON list; [] = all types."""
    raw = p.get("taskTypeIds", p.get("taskTypeId"))
    if raw is None or raw == "":
        return []
    if isinstance(raw, dict):
        raw = list(raw.values())
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise BadRequest('Parameter "taskTypeId" must be a comma-separated list of task types')
    return [v.strip() for v in raw if v.strip()]


async def queue_stats(request: web.Request) -> web.Response:
    """Scheduled and running tasks, of the given task types or of all."""
    svc = request.app[SERVICES]
    types = _type_filter(params(request))
    if not types:
        snap = await svc.registry.snapshot()
        types = sorted(set(CORE_TASK_TYPES) | set(snap.custom_types)
                       | {s.task_type for s in snap.providers.values()})
    scheduled, running = await svc.tasks.queue_counts(types)
    return _ok(request, {"scheduled_count": scheduled, "running_count": running})


async def queue_position(request: web.Request) -> web.Response:
    """1 for the next task of its type to start; 412 once the task is no longer scheduled."""
    svc = request.app[SERVICES]
    task = await svc.tasks.get_owned(task_id(request, "taskId"),
                                     task_owner(principal(request), request))
    if task is None:
        raise NotFound("Not found")
    rank = await svc.tasks.queue_rank(task) if task.status is Status.SCHEDULED else None
    if rank is None:
        raise PreconditionFailed("The task is not scheduled")
    return _ok(request, {"position": rank + 1})


QUEUE_ROUTES: list[Route] = [
    Route("GET", "/queue_stats", queue_stats, Access.ADMIN),
    Route("GET", r"/tasks/{taskId}/queue_position", queue_position, Access.USER),
]
