"""The OpenAPI document (issue 11 item 12): kept in the repository, up to date with the route
tables, covering every route both HTTP roles serve, and served by the api."""

from __future__ import annotations

from typing import Any

import orjson

from services.api.app import create_app
from services.fileproxy.app import FILE_ROUTES, create_fileproxy_app
from services.openapi import OUT, render
from shared.settings import Settings


def test_the_committed_document_is_up_to_date() -> None:
    assert OUT.read_bytes() == render(), "run `python -m services.openapi` and commit it"


def _served(app: Any) -> set[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter", "")
        if route.method in ("HEAD", "*") or path.startswith("/ocs/v1.php/"):
            continue
        out.add((route.method.lower(), path))
    return out


def test_every_route_of_both_roles_is_documented(settings: Settings) -> None:
    doc = orjson.loads(OUT.read_bytes())
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops if m != "head"}
    served = (_served(create_app(settings, extra_routes=FILE_ROUTES))
              | _served(create_fileproxy_app(settings)))
    assert served - documented == set()
    assert documented - served == set()


async def test_the_api_serves_it(api: Any) -> None:
    resp = await api.get("/openapi.json")
    assert resp.status == 200 and resp.content_type == "application/json"
    assert await resp.read() == OUT.read_bytes()
