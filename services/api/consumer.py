"""ExApp consumer routes (Nextcloud 33+ `tasks_consumer/*`): the user handlers behind
`ExAppRequired`.

An ExApp acts as the user named in its AppAPI credentials, or without a user (tasks without
owner, no file inputs). Unlike Nextcloud, schedule is rate limited here too
(`schedule_exapp`, per ExApp and acting user), so one ExApp cannot flood the queue.
"""

from __future__ import annotations

from aiohttp import web

from services.api import tasks
from shared.errors import Unauthorized
from shared.http.context import SERVICES
from shared.http.routes import Access, Route
from shared.http.security import principal

NO_USER_FILES = "Cannot schedule task with files referenced without user context"


async def tasktypes(request: web.Request) -> web.StreamResponse:
    return await tasks.tasktypes(request)


async def schedule(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    headers = await request.app[SERVICES].limiter.enforce(
        "schedule_exapp", f"{who.app_id or ''} {who.user_id or ''}")
    try:
        return await tasks.schedule_unlimited(request, headers)
    except Unauthorized as exc:
        if principal(request).user_id is None:
            raise Unauthorized(NO_USER_FILES) from exc
        raise


async def get_task(request: web.Request) -> web.StreamResponse:
    return await tasks.get_task(request)


async def delete_task(request: web.Request) -> web.StreamResponse:
    return await tasks.delete_task(request)


async def cancel_task(request: web.Request) -> web.StreamResponse:
    return await tasks.cancel_task(request)


CONSUMER_ROUTES: list[Route] = [
    Route("GET", "/tasks_consumer/tasktypes", tasktypes, Access.EXAPP),
    Route("POST", "/tasks_consumer/schedule", schedule, Access.EXAPP),
    Route("GET", r"/tasks_consumer/task/{id}", get_task, Access.EXAPP),
    Route("DELETE", r"/tasks_consumer/task/{id}", delete_task, Access.EXAPP),
    Route("POST", r"/tasks_consumer/tasks/{taskId}/cancel", cancel_task, Access.EXAPP),
]
