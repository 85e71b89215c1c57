"""`GET /openapi.json`: the OpenAPI document of the whole API (shared/openapi.json, generated
by services/openapi.py from the route tables and kept in the repository)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from aiohttp import web

from shared.http.routes import Access, Route


@cache
def _document() -> bytes:
    return resources.files("shared").joinpath("openapi.json").read_bytes()


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=_document(), content_type="application/json", charset="utf-8")


DOC_ROUTES: list[Route] = [
    Route("GET", "/openapi.json", openapi_document, Access.PUBLIC, csrf=False),
]
