"""The route helper both HTTP roles use: a route is (method, path, handler) under given prefixes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]

TP_PREFIXES = ("/ocs/v2.php/taskprocessing", "/ocs/v1.php/taskprocessing")
OCS_PREFIXES = ("/ocs/v2.php", "/ocs/v1.php")


def add_routes(app: web.Application, routes: list[Route],
               prefixes: tuple[str, ...] = TP_PREFIXES) -> None:
    """Register each route under every prefix (v2 and v1)."""
    for prefix in prefixes:
        for method, path, handler in routes:
            app.router.add_route(method, prefix + path, handler)
