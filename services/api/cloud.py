"""The few non-TaskProcessing OCS routes clients call first: capabilities and the current user."""

from __future__ import annotations

import time
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
    """34's blocks that clients read: `core` and AppAPI's `loglevel` only once signed in."""
    settings = request.app[SERVICES].settings
    signed_in = principal(request).user_id is not None or principal(request).app_api
    caps: dict[str, Any] = {
        "taskprocessing": {"taskproc": True, "long_poll_max_seconds": 30,
                           "user_uploads": True},
        "app_api": {"loglevel": 1, "version": settings.version} if signed_in else
                   {"version": settings.version},
    }
    if signed_in:
        caps["core"] = {"pollinterval": 60, "webdav-root": "remote.php/webdav",
                        "reference-api": False, "mod-rewrite-working": False,
                        "user": {"language": "en", "locale": "", "timezone": "UTC"},
                        "can-create-app-token": False}
    data = {"version": version_block(settings), "capabilities": caps}
    return ocs.render(request, 200, data, params=params(request))


_PROFILE_SCOPED = ("phone", "address", "website", "twitter", "bluesky", "fediverse",
                   "organisation", "role", "headline", "biography", "pronouns")


async def current_user(request: web.Request) -> web.Response:
    who = principal(request)
    user = await request.app[SERVICES].users.get(who.user_id or "")
    if user is None:
        return ocs.render(request, 404, {"message": "User not found"}, params=params(request))
    now = int(time.time())
    data: dict[str, Any] = {
        "enabled": True, "id": user.id,
        # this request is a login: Nextcloud updates the last login on each one
        "firstLoginTimestamp": user.created, "lastLoginTimestamp": now,
        "lastLogin": now * 1000, "backend": "taskproc", "subadmin": [],
        "quota": {"free": -3, "used": 0, "total": -3, "relative": 0, "quota": -3},
        "manager": "", "avatarScope": "v2-local", "email": None, "emailScope": "v2-local",
        "additional_mail": [], "additional_mailScope": [],
        "displayname": user.display_name, "display-name": user.display_name,
        "displaynameScope": "v2-local", "profile_enabled": "0",
        "profile_enabledScope": "v2-local", "groups": ["admin"] if user.admin else [],
        "language": "en", "locale": "", "timezone": "", "notify_email": None,
        "backendCapabilities": {"setDisplayName": False, "setPassword": False}}
    for name in _PROFILE_SCOPED:
        data[name], data[name + "Scope"] = "", "v2-local"
    return ocs.render(request, 200, data, params=params(request))
