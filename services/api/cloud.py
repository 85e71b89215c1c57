"""The few non-TaskProcessing OCS routes clients call first: capabilities and the current user."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shared.http import ocs
from shared.http.context import SERVICES
from shared.http.params import params
from shared.http.security import principal
from shared.settings import Settings


def version_block(settings: Settings) -> dict[str, Any]:
    major, minor, micro = (int(x) for x in [*settings.version.split("."), "0", "0"][:3])
    return {"major": major, "minor": minor, "micro": micro, "string": settings.version,
            "edition": "", "extendedSupport": False}


async def capabilities(request: web.Request) -> web.Response:
    settings = request.app[SERVICES].settings
    caps: dict[str, Any] = {
        "core": {"pollinterval": 60, "webdav-root": "remote.php/webdav"},
        "taskprocessing": {"taskproc": True, "long_poll_max_seconds": 30,
                           "user_uploads": True},
        "app_api": {"loglevel": 1, "version": "33.0.0"},
    }
    data = {"version": version_block(settings), "capabilities": caps}
    return ocs.render(request, 200, data, params=params(request))


async def current_user(request: web.Request) -> web.Response:
    who = principal(request)
    user = await request.app[SERVICES].users.get(who.user_id or "")
    if user is None:
        return ocs.render(request, 404, {"message": "User not found"}, params=params(request))
    data = {"id": user.id, "display-name": user.display_name, "displayname": user.display_name,
            "email": None, "enabled": True, "groups": ["admin"] if user.admin else [],
            "language": "en", "locale": "", "quota": {"quota": -3},
            "backend": "taskproc", "subadmin": []}
    return ocs.render(request, 200, data, params=params(request))
