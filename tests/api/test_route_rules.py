"""Access rules live in the route table: every route declares one, none is filled in silently."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from services.api.app import create_app
from services.fileproxy.app import FILE_ROUTES, create_fileproxy_app
from shared.http.routes import ROUTE_RULES, Access, Route
from shared.settings import Settings


def test_a_route_cannot_be_declared_without_an_access_level() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response()
    with pytest.raises(TypeError):
        Route("GET", "/x", handler)  # type: ignore[call-arg]


@pytest.mark.parametrize("factory", [create_app, create_fileproxy_app])
def test_every_route_of_both_roles_has_a_declared_rule(factory: Any, settings: Settings) -> None:
    app = factory(settings)
    routes = list(app.router.routes())
    assert len(routes) > 10
    assert [f"{r.method} {r.resource.canonical}" for r in routes
            if r not in app[ROUTE_RULES]] == []


def test_the_combined_app_keeps_the_file_rules(settings: Settings) -> None:
    app = create_app(settings, extra_routes=FILE_ROUTES)
    download = next(r for r in app.router.routes()
                    if r.resource.canonical.endswith("/tasks/{taskId}/file/{fileId}"))
    assert app[ROUTE_RULES][download].access is Access.USER
    assert app[ROUTE_RULES][download].csrf is False


async def test_a_route_added_around_the_table_is_refused(aiohttp_client: Any,
                                                         settings: Settings) -> None:
    async def sneaky(request: web.Request) -> web.Response:
        return web.Response(text="should not run")
    app = create_app(settings)
    app.router.add_get("/ocs/v2.php/taskprocessing/sneaky", sneaky)
    client = await aiohttp_client(app)
    resp = await client.get("/ocs/v2.php/taskprocessing/sneaky?format=json",
                            headers={"OCS-APIRequest": "true"})
    assert resp.status == 500
    assert "should not run" not in await resp.text()
