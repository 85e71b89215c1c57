"""Request parameters as Nextcloud merges them: the query, then a form or JSON body on top."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from shared.errors import BadRequest
from shared.http import ocs

PARAMS = web.RequestKey("params", dict)


def params(request: web.Request) -> dict[str, Any]:
    """The parameters the OCS middleware parsed for this request."""
    return request[PARAMS]


async def read_params(request: web.Request) -> dict[str, Any]:
    """Query, then form or JSON body on top, as Nextcloud merges them (any method)."""
    merged = ocs.query_params(request.query)
    ctype = request.content_type
    if request.can_read_body and not ctype.startswith("multipart/"):
        body = await request.read()
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
