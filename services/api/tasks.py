"""User routes: task types, schedule, read, list, cancel, delete (as Nextcloud's
core/Controller/TaskProcessingApiController.php serves them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.api import admission
from shared.errors import BadRequest, NotFound, PreconditionFailed
from shared.http import ocs
from shared.http.auth import task_owner
from shared.http.clientaddr import client_address
from shared.http.context import SERVICES
from shared.http.params import params, path_id
from shared.http.security import principal
from shared.registry import task_type_json
from shared.store import Refusal, Refused
from shared.tasks import Owner, OwnerKind, Task
from shared.validation import input_file_ids, validate_input

MAX_CUSTOM_ID = 255


def task_id(request: web.Request, name: str = "id") -> int:
    return path_id(request, name)


def _ok(request: web.Request, data: Any, headers: dict[str, str] | None = None) -> web.Response:
    return ocs.render(request, 200, data, headers=headers, params=params(request))


async def tasktypes(request: web.Request) -> web.Response:
    snap = await request.app[SERVICES].registry.snapshot()
    types = {tid: task_type_json(tt, spec) for tid, (tt, spec) in snap.available().items()}
    return _ok(request, {"types": types})  # 34 sends [] when empty; Swift needs a map


def _opt_str(p: dict[str, Any], name: str) -> str | None:
    v = p.get(name)
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise BadRequest(f'Parameter "{name}" must be a string')
    return v


def _bool(p: dict[str, Any], name: str, default: bool) -> bool:
    v = p.get(name, default)
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) or (isinstance(v, str) and v.lower() in (
            "0", "1", "true", "false", "")):
        return str(v).lower() in ("1", "true")
    raise BadRequest(f'Parameter "{name}" must be a boolean')


def _required_str(p: dict[str, Any], name: str) -> str:
    v = p.get(name)
    if not isinstance(v, str) or v == "":
        raise BadRequest(f'Missing or invalid parameter "{name}"')
    return v


async def schedule(request: web.Request) -> web.Response:
    svc, who = request.app[SERVICES], principal(request)
    if who.user_id is not None:
        headers = await svc.limiter.enforce("schedule_user", who.user_id)
    else:
        headers = await svc.limiter.enforce("schedule_guest", client_address(request))
    return await schedule_unlimited(request, headers)


@dataclass(frozen=True)
class _Order:
    """What a schedule request asks for, once its plain fields are checked."""

    task_type: str
    app_id: str
    custom_id: str
    webhook_uri: str | None
    webhook_method: str | None
    include_watermark: bool
    input: Any


class _Stale(Exception):
    """The registry copy in hand did not serve this order: validate it against a fresh one."""


def _order(p: dict[str, Any]) -> _Order:
    task_type, app_id = _required_str(p, "type"), _required_str(p, "appId")
    custom_id = _opt_str(p, "customId") or ""
    if len(custom_id) > MAX_CUSTOM_ID:
        raise BadRequest(f"customId must be at most {MAX_CUSTOM_ID} characters")
    webhook_uri, webhook_method = admission.webhook_fields(p)
    admission.check_fields(app_id, webhook_uri, webhook_method)
    return _Order(task_type, app_id, custom_id, webhook_uri, webhook_method,
                  _bool(p, "includeWatermark", True), p.get("input"))


async def schedule_unlimited(request: web.Request,
                             headers: dict[str, str] | None = None) -> web.Response:
    """Schedule without the rate limit (the ExApp consumer route has none). The registry copy
    in hand is used without a round trip; the script refuses the write if the registry changed
    since, and a refusal from the copy in hand is checked against a fresh one."""
    order = _order(params(request))
    try:
        task = await _schedule(request, order, fresh=False)
    except _Stale:
        task = await _schedule(request, order, fresh=True)
    return _ok(request, {"task": task.to_json(just_scheduled=True)}, headers)


async def _schedule(request: web.Request, order: _Order, fresh: bool) -> Task:
    svc, who = request.app[SERVICES], principal(request)
    snap, gen = await svc.registry.unchecked(fresh)
    tt, spec = snap.task_type(order.task_type), snap.preferred(order.task_type)
    try:
        if tt is None or spec is None:
            raise PreconditionFailed("The given provider is not available")
        inputs = validate_input(tt, spec, order.input)
    except (BadRequest, PreconditionFailed):
        if fresh:
            raise
        raise _Stale from None
    file_ids = input_file_ids(tt, spec, inputs)
    await svc.files.check_access(file_ids, who.user_id)
    owner = task_owner(who, request)
    try:
        return await svc.tasks.schedule(
            task_type=order.task_type, user_id=who.user_id, app_id=order.app_id,
            custom_id=order.custom_id, inputs=inputs, webhook_uri=order.webhook_uri,
            webhook_method=order.webhook_method, include_watermark=order.include_watermark,
            expected_runtime=spec.expected_runtime, file_ids=file_ids,
            guest=owner.who if owner.kind is OwnerKind.GUEST else None,
            exapp=owner.who if owner.kind is OwnerKind.EXAPP else None,
            external=spec.kind == "exapp",
            admission=admission.limits(svc.settings, None if fresh else gen))
    except Refused as refused:
        if refused.reason is Refusal.REGISTRY:
            raise _Stale from None
        raise admission.refusal(request, refused) from None


async def _rate_limit_get(request: web.Request) -> dict[str, str]:
    svc, who = request.app[SERVICES], principal(request)
    if who.user_id is not None:
        return await svc.limiter.enforce("get_task_user", who.user_id)
    return await svc.limiter.enforce("get_task_guest", client_address(request))


def owner_of(request: web.Request) -> Owner:
    """The caller as a task owner (shared.http.auth.task_owner). Guest tasks are bound to the
    guest's address and ExApp tasks without user to the ExApp, so neither can reach another's
    tasks by guessing ids (Nextcloud matched any task without a user)."""
    return task_owner(principal(request), request)


async def get_task(request: web.Request) -> web.Response:
    headers = await _rate_limit_get(request)
    task = await request.app[SERVICES].tasks.get_owned(task_id(request), owner_of(request))
    if task is None:
        raise NotFound("Task not found")
    return _ok(request, {"task": task.to_json()}, headers)


async def delete_task(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    files = await svc.tasks.delete(task_id(request), owner_of(request))
    if files:  # None: not there or not the caller's, still a 200 as in Nextcloud
        await svc.files.release(files)
    return _ok(request, None)


async def cancel_task(request: web.Request) -> web.Response:
    tid = task_id(request, "taskId" if "taskId" in request.match_info else "id")
    task = await request.app[SERVICES].tasks.cancel(tid, owner_of(request))
    if task is None:
        raise NotFound("Not found")
    return _ok(request, {"task": task.to_json()})


def _page(request: web.Request) -> tuple[int, int]:
    """`limit` (at most, and by default, max_listed_tasks) and `offset`, both extensions:
    Nextcloud answers every task; here a list is the newest tasks up to the cap."""
    p, cap = params(request), request.app[SERVICES].settings.max_listed_tasks
    out = {"limit": cap, "offset": 0}
    for name in out:
        raw = p.get(name)
        if raw is None or raw == "":
            continue
        if not str(raw).isdigit():
            raise BadRequest(f'Parameter "{name}" must be a non-negative integer')
        out[name] = int(str(raw))
    return min(out["limit"], cap), out["offset"]


async def list_tasks(request: web.Request) -> web.Response:
    p, who = params(request), principal(request)
    limit, offset = _page(request)
    tasks = await request.app[SERVICES].tasks.list_for_user(
        who.user_id or "", task_type=_opt_str(p, "taskType"), custom_id=_opt_str(p, "customId"),
        limit=limit, offset=offset)
    return _ok(request, {"tasks": [t.to_json() for t in tasks]})


async def list_app_tasks(request: web.Request) -> web.Response:
    p, who = params(request), principal(request)
    limit, offset = _page(request)
    tasks = await request.app[SERVICES].tasks.list_for_user(
        who.user_id or "", app_id=request.match_info["appId"], custom_id=_opt_str(p, "customId"),
        limit=limit, offset=offset)
    return _ok(request, {"tasks": [t.to_json() for t in tasks]})

