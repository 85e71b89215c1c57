"""Download routes: a task's owner (`GET /tasks/{taskId}/file/{fileId}`) and providers
(`GET /tasks_provider/{taskId}/file/{fileId}`).

Only files the task references (its input file slots, and its output file slots once a result
is stored) can be fetched; everything else is 404 "Not found", as in Nextcloud.
"""

from __future__ import annotations

from aiohttp import web

from services.fileproxy.send import send_file
from shared.errors import NotFound
from shared.http.auth import task_owner
from shared.http.context import SERVICES, Services
from shared.http.params import path_id
from shared.http.security import principal


def _ids(request: web.Request) -> tuple[int, int]:
    return path_id(request, "taskId"), path_id(request, "fileId")


async def _serve(request: web.Request, svc: Services, task_id: int,
                 file_id: int) -> web.StreamResponse:
    if not await svc.files.referenced(task_id, file_id):
        raise NotFound("Not found")
    record = await svc.files.get(file_id)
    if record is None:
        raise NotFound("Not found")
    return await send_file(request, record, svc.files.path(file_id))


async def user_file(request: web.Request) -> web.StreamResponse:
    """GET /tasks/{taskId}/file/{fileId} (and the seed's /task/…): the task's owner only."""
    svc = request.app[SERVICES]
    task_id, file_id = _ids(request)
    if await svc.tasks.get_owned(task_id, task_owner(principal(request), request)) is None:
        raise NotFound("Not found")
    return await _serve(request, svc, task_id, file_id)


async def provider_file(request: web.Request) -> web.StreamResponse:
    """GET /tasks_provider/{taskId}/file/{fileId}: any task, as in Nextcloud."""
    svc = request.app[SERVICES]
    task_id, file_id = _ids(request)
    if await svc.tasks.get(task_id) is None:
        raise NotFound("Not found")
    return await _serve(request, svc, task_id, file_id)
