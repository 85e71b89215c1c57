"""Provider routes for external providers (ExApps): next, next_batch, progress, result
(Nextcloud's TaskProcessingApiController, as nc_py_api calls it). Claims are atomic
(shared/lua/claim_next.lua), oldest first, and only for the preferred provider of each type;
`wait` turns next and next_batch into long polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from services.api.ready import READY, RECHECK_SECONDS
from services.api.tasks import _ok, _opt_str, task_id
from shared.errors import BadRequest, NotFound
from shared.http import ocs
from shared.http.auth import Principal
from shared.http.context import SERVICES, Services
from shared.http.params import params
from shared.http.routes import Access, Route
from shared.http.security import principal
from shared.provider_spec import ProviderSpec
from shared.settings import Settings
from shared.store import Change, Claim
from shared.tasks import Status, Task
from shared.validation import OUTPUT_INVALID_MESSAGE, output_file_ids, validate_output

MAX_WAIT_SECONDS = 30.0
MAX_BATCH = 100
INVALID_OUTPUT = "The provider returned an invalid result"
LEASE_HEADER = "X-Taskproc-Lease"
"""Extension: `taskId:token,…` of the claims in a next/next_batch answer. A provider that sends
the token back as `leaseToken` gets exact fencing of its progress and result calls."""

Entry = tuple[str, str, int]
"""(task type, provider id, lease ms) a claim may take tasks for."""


def lease_ms(settings: Settings, spec: ProviderSpec | None) -> int:
    """An ExApp claim's lease: a multiple of the provider's expected runtime, or the minimum."""
    runtime = spec.expected_runtime if spec is not None else 0
    return int(max(settings.exapp_lease_min_seconds,
                   settings.exapp_lease_factor * runtime) * 1000)


def _str_list(p: dict[str, Any], name: str) -> list[str]:
    value = p.get(name)
    if isinstance(value, dict):  # PHP-style a[0]=x&a[1]=y
        value = list(value.values())
    if isinstance(value, str) and value:
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f'Parameter "{name}" must be a list of strings')
    return list(dict.fromkeys(value))


def _number(p: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = p.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not low <= number <= high:
        raise BadRequest(f'Parameter "{name}" must be a number from {low:g} to {high:g}')
    return number


async def _entries(svc: Services, who: Principal, provider_ids: list[str],
                   type_ids: list[str]) -> list[Entry]:
    """Nextcloud's filter: requested types whose preferred provider was requested, and is the
    caller's own (tasks of local providers belong to the dispatchers, those of another ExApp's
    provider to that ExApp)."""
    snap = await svc.registry.snapshot()
    out = []
    for type_id in type_ids:
        spec = snap.preferred(type_id)
        if spec is not None and spec.kind == "exapp" and spec.app_id == who.app_id \
                and spec.id in provider_ids:
            out.append((type_id, spec.id, lease_ms(svc.settings, spec)))
    return out


def _gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


async def _claim(request: web.Request, count: int) -> tuple[bool, list[Claim]]:
    """Claim up to `count` tasks, waiting up to `wait` seconds for one to arrive."""
    svc, p, who = request.app[SERVICES], params(request), principal(request)
    provider_ids, type_ids = _str_list(p, "providerIds"), _str_list(p, "taskTypeIds")
    wait = _number(p, "wait", 0, 0, MAX_WAIT_SECONDS)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    entries = await _entries(svc, who, provider_ids, type_ids)
    hub = request.app[READY]
    async with _watch(hub, {e[0] for e in entries}, wait > 0) as event:
        while True:
            event.clear()
            if entries:
                got = await svc.tasks.claim_next(who.app_id or "", count, uuid.uuid4().hex,
                                                 entries)
                if got.claims:
                    return got.more, got.claims
            remaining = deadline - loop.time()
            if remaining <= 0 or _gone(request):
                return False, []
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, RECHECK_SECONDS)):
                    await event.wait()
            entries = await _entries(svc, who, provider_ids, type_ids)
            hub.update(event, {e[0] for e in entries})


@contextlib.asynccontextmanager
async def _watch(hub: Any, types: set[str], enabled: bool) -> AsyncIterator[asyncio.Event]:
    if not enabled:
        yield asyncio.Event()
        return
    async with hub.watch(types) as event:
        yield event


def _lease_header(claims: list[Claim]) -> dict[str, str]:
    return {LEASE_HEADER: ",".join(f"{c.task.id}:{c.token}" for c in claims)} if claims else {}


async def next_task(request: web.Request) -> web.Response:
    """GET /tasks_provider/next: 200 {task, provider: {name}} or 204."""
    _, claims = await _claim(request, 1)
    if not claims:
        return ocs.render(request, 204, None, params=params(request))
    c = claims[0]
    return _ok(request, {"task": c.task.to_json(), "provider": {"name": c.provider_id}},
               _lease_header(claims))


async def next_batch(request: web.Request) -> web.Response:
    """GET /tasks_provider/next_batch: {tasks: [{task, provider}], has_more} (200 if empty)."""
    count = int(_number(params(request), "numberOfTasks", 1, 1, 10**9))
    more, claims = await _claim(request, min(count, MAX_BATCH))
    tasks = [{"task": c.task.to_json(), "provider": c.provider_id} for c in claims]
    return _ok(request, {"tasks": tasks, "has_more": more}, _lease_header(claims))


async def _claimed(request: web.Request) -> tuple[Task, ProviderSpec, str | None]:
    """The task of a provider call, the caller's provider of it and the lease token to act
    under (None: the task has ended, the call changes nothing).

    404 unless the caller's own provider claimed it: running under the caller's claim, or ended
    after it. A scheduled task (never or no longer claimed), another ExApp's or a local
    engine's task does not exist for the caller."""
    who = principal(request)
    task, spec = await _provider_task(request, who.app_id)
    if task.status.final:
        return task, spec, None
    if task.status is not Status.RUNNING or task.lease_owner != who.app_id:
        raise NotFound("Not found")
    explicit = params(request).get("leaseToken")  # exact fencing for a provider that sends it
    token = explicit if isinstance(explicit, str) and explicit else task.lease_token
    return task, spec, token or None


async def _provider_task(request: web.Request, app_id: str | None) -> tuple[Task, ProviderSpec]:
    """The task named in the path and its provider, if that provider is this ExApp's; else 404."""
    svc = request.app[SERVICES]
    name = "taskId" if "taskId" in request.match_info else "id"
    task = await svc.tasks.get(task_id(request, name))
    spec = None if task is None else \
        (await svc.registry.snapshot()).providers.get(task.provider_id or "")
    if task is None or spec is None or not _serves(spec, app_id, task):
        raise NotFound("Not found")
    return task, spec


def _serves(spec: ProviderSpec, app_id: str | None, task: Task) -> bool:
    """The provider is this ExApp's, and of the task's type."""
    return spec.kind == "exapp" and spec.app_id == app_id and spec.task_type == task.type


async def set_progress(request: web.Request) -> web.Response:
    """POST /tasks_provider/{taskId}/progress: store progress, renew the claim's lease."""
    svc, p = request.app[SERVICES], params(request)
    progress = _number(p, "progress", float("nan"), 0.0, 1.0)
    task, spec, token = await _claimed(request)
    if token is not None:
        change = await svc.tasks.progress(task.id, progress, token=token,
                                          lease_ms=lease_ms(svc.settings, spec), want_task=True)
        if change is None or change.task is None:
            raise NotFound("Not found")
        task = change.task
    return _ok(request, {"task": task.to_json()})


async def _validated(svc: Services, task: Task, spec: ProviderSpec,
                     output: Any) -> tuple[dict[str, Any], list[int]]:
    """The output checked against the shapes; file ids must name stored files that are the
    task's own or a provider's (never another user's upload)."""
    tt = (await svc.registry.snapshot()).task_type(task.type)
    if tt is None:
        raise BadRequest(OUTPUT_INVALID_MESSAGE)
    validated = validate_output(tt, spec, output)
    ids = output_file_ids(tt, spec, validated)
    for fid in ids:
        record = await svc.files.get(fid)
        if record is None or (record.origin == "upload"
                              and not await svc.files.referenced(task.id, fid)):
            raise BadRequest(OUTPUT_INVALID_MESSAGE)
    return validated, ids


async def _store_result(svc: Services, task: Task, spec: ProviderSpec, p: dict[str, Any],
                        token: str) -> Change | None:
    error, user_message = _opt_str(p, "errorMessage"), _opt_str(p, "userFacingErrorMessage")
    output = p.get("output")
    if error is not None:
        return await svc.tasks.result(task.id, output=None, error_message=error,
                                      user_message=user_message, token=token, want_task=True)
    if output is None:
        raise BadRequest('Either "output" or "errorMessage" must be given')
    try:
        validated, ids = await _validated(svc, task, spec, output)
    except BadRequest:
        return await svc.tasks.result(task.id, output=None, error_message=OUTPUT_INVALID_MESSAGE,
                                      user_message=user_message or INVALID_OUTPUT, token=token,
                                      complete=True, want_task=True)
    return await svc.tasks.result(task.id, output=validated, token=token, file_ids=ids,
                                  want_task=True)


async def set_result(request: web.Request) -> web.Response:
    """POST /tasks_provider/{taskId}/result: 200 with the task whenever it exists; a result for
    a cancelled or finished task, or from a claim that lost its lease, is dropped."""
    svc, p = request.app[SERVICES], params(request)
    task, spec, token = await _claimed(request)
    if token is not None:
        stored = await _store_result(svc, task, spec, p, token)
        if stored is None or stored.task is None:
            raise NotFound("Not found")
        task = stored.task
    return _ok(request, {"task": task.to_json()})


PROVIDER_ROUTES: list[Route] = [
    Route("GET", "/tasks_provider/next", next_task, Access.EXAPP),
    Route("GET", "/tasks_provider/next_batch", next_batch, Access.EXAPP),
    Route("POST", r"/tasks_provider/{taskId}/progress", set_progress, Access.EXAPP),
    Route("POST", r"/tasks_provider/{taskId}/result", set_result, Access.EXAPP),
    Route("GET", r"/task/{id}/progress", set_progress, Access.EXAPP),  # seed alias
    Route("POST", r"/task/{id}/progress", set_progress, Access.EXAPP),  # seed alias
    Route("POST", r"/task/{id}/result", set_result, Access.EXAPP),  # seed alias
]
