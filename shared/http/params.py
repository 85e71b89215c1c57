"""Request parameters as Nextcloud merges them: the query, then a form or JSON body on top."""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import web

from shared.errors import BadRequest
from shared.http import ocs
from shared.http.guard import read_body

PARAMS = web.RequestKey("params", dict)


_ASCII_ID = re.compile(r"[0-9]{1,18}")


def path_id(request: web.Request, name: str) -> int:
    """A task or file id from the path. ASCII digits only (`\\d` would take `٢` for 2); any
    other value is id 0, which nothing has, so it gets the route's own not-found answer, as
    Nextcloud's cast to int gives it (OCS 404 with data.message; DELETE 200)."""
    raw = request.match_info.get(name, "")
    return int(raw) if _ASCII_ID.fullmatch(raw) else 0


def params(request: web.Request) -> dict[str, Any]:
    """The parameters the OCS middleware parsed for this request."""
    return request[PARAMS]


async def read_params(request: web.Request, timeout: float = 60.0) -> dict[str, Any]:
    """Query, then form or JSON body on top, as Nextcloud merges them (any method).

    The body must arrive within `timeout` seconds (408) and decode (400)."""
    merged = ocs.query_params(request.query)
    ctype = request.content_type
    if request.can_read_body and not ctype.startswith("multipart/"):
        body = await read_body(request, timeout)
        if body and ctype == "application/json":
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise BadRequest("Could not decode the JSON body") from exc
            if isinstance(data, dict):
                merged |= data
        elif body and ctype == "application/x-www-form-urlencoded":
            merged |= ocs.form_params(body)
    return merged
