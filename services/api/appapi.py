"""The AppAPI routes ExApps call to declare providers, as app_api serves them and nc_py_api
sends them: `POST|DELETE /ocs/v{1,2}.php/apps/app_api/api/v1/ai_provider/task_processing`,
and its log route.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from shared.errors import BadRequest, NotFound
from shared.http import ocs
from shared.http.context import SERVICES
from shared.http.params import params
from shared.http.routes import Access, Route
from shared.http.security import principal
from shared.provider_spec import ProviderSpec
from shared.registry import _custom_type
from shared.shapes import CORE_TASK_TYPES, TaskType

log = logging.getLogger(__name__)
exapp_log = logging.getLogger("taskproc.exapp")
_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR,
           4: logging.CRITICAL}


def _provider(raw: Any, app_id: str) -> ProviderSpec:
    if not isinstance(raw, dict):
        raise BadRequest('Missing or invalid parameter "provider"')
    for name in ("id", "name", "task_type"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise BadRequest(f'Provider field "{name}" must be a non-empty string')
    try:
        return ProviderSpec.from_json(raw).with_kind("exapp", app_id)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise BadRequest(f"Invalid provider declaration: {exc}") from exc


def _task_type(raw: Any) -> TaskType | None:
    if raw is None or raw == []:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise BadRequest('Invalid parameter "customTaskType": it needs an "id"')
    if raw["id"] in CORE_TASK_TYPES:
        raise BadRequest(f'Custom task type "{raw["id"]}" would replace a core task type')
    try:
        return _custom_type(raw)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise BadRequest(f"Invalid custom task type: {exc}") from exc


async def register_provider(request: web.Request) -> web.Response:
    """Register (or update) an ExApp's provider and its optional custom task type."""
    svc, p, who = request.app[SERVICES], params(request), principal(request)
    spec = _provider(p.get("provider"), who.app_id or "")
    custom = _task_type(p.get("customTaskType"))
    existing = (await svc.registry.snapshot(fresh=True)).providers.get(spec.id)
    if existing is not None and (existing.kind != "exapp" or existing.app_id != spec.app_id):
        raise BadRequest(f'Provider "{spec.id}" is registered by another app')
    if custom is not None:
        await svc.registry.set_custom_type(custom)
    elif spec.task_type not in CORE_TASK_TYPES and (
            (await svc.registry.snapshot(fresh=True)).task_type(spec.task_type) is None):
        log.warning("ExApp %s registered provider %s for unknown task type %s",
                    who.app_id, spec.id, spec.task_type)
    await svc.registry.register(spec, ttl_seconds=None)
    log.info("ExApp %s registered provider %s for %s", who.app_id, spec.id, spec.task_type)
    return ocs.render(request, 200, [], params=p)


async def unregister_provider(request: web.Request) -> web.Response:
    """Remove one of the calling ExApp's providers (`name` = provider id); 404 if none."""
    svc, p, who = request.app[SERVICES], params(request), principal(request)
    name = p.get("name")
    existing = (await svc.registry.snapshot(fresh=True)).providers.get(str(name))
    if existing is None or existing.kind != "exapp" or existing.app_id != who.app_id:
        raise NotFound("Not found")
    await svc.registry.unregister(existing.id)
    log.info("ExApp %s unregistered provider %s", who.app_id, existing.id)
    return ocs.render(request, 200, [], params=p)


async def exapp_log_message(request: web.Request) -> web.Response:
    """nc_py_api's `nc.log()`: the ExApp's message goes to our log."""
    p, who = params(request), principal(request)
    try:
        level = _LEVELS.get(int(p.get("level", 1)), logging.INFO)
    except (TypeError, ValueError):
        level = logging.INFO
    exapp_log.log(level, "[%s] %s", who.app_id, str(p.get("message", ""))[:4000])
    return ocs.render(request, 200, [], params=p)


_AI = "/apps/app_api/api/v1/ai_provider/task_processing"
APPAPI_ROUTES: list[Route] = [
    Route("POST", _AI, register_provider, Access.APPAPI),
    Route("DELETE", _AI, unregister_provider, Access.APPAPI),
    Route("POST", "/apps/app_api/api/v1/log", exapp_log_message, Access.APPAPI),
]
