"""The route table both HTTP roles use: each route declares who may call it.

A `Route` cannot be built without an `Access` level, and `add_routes` is how routes reach an
app: the OCS middleware looks the matched route up in `ROUTE_RULES` and refuses (500, logged)
any route that arrived some other way, so no route silently gets a default level.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TP_PREFIXES = ("/ocs/v2.php/taskprocessing", "/ocs/v1.php/taskprocessing")
OCS_PREFIXES = ("/ocs/v2.php", "/ocs/v1.php")


class Access(StrEnum):
    """Who may call a route (Nextcloud's controller attributes)."""

    USER = "user"          # NoAdminRequired
    GUEST_OK = "guest_ok"  # users, and guests when the setting allows them
    PUBLIC = "public"      # anyone (capabilities, probes)
    EXAPP = "exapp"        # ExAppRequired (core's routes: 412 "ExApp required")
    APPAPI = "appapi"      # AppAPI's own routes (401, OCS 997 "AppAPI authentication failed")
    ADMIN = "admin"        # admin users only


@dataclass(frozen=True)
class Route:
    """One route: method, path (under the prefixes it is added with), handler and access rule.

    `csrf=False`: no OCS-APIRequest header needed. `body=False`: parameters come from the query
    only and the body is left unread, for handlers that stream it (uploads).
    """

    method: str
    path: str
    handler: Handler
    access: Access
    csrf: bool = True
    body: bool = True


ROUTE_RULES = web.AppKey("route_rules", dict[web.AbstractRoute, Route])


def add_routes(app: web.Application, routes: list[Route],
               prefixes: tuple[str, ...] = TP_PREFIXES) -> None:
    """Register each route under every prefix (v2 and v1) and remember its rule; HEAD is
    served wherever GET is, as Nextcloud does."""
    if ROUTE_RULES not in app:
        app[ROUTE_RULES] = {}
    rules = app[ROUTE_RULES]
    explicit_head = {route.path for route in routes if route.method == "HEAD"}
    for prefix in prefixes:
        for route in routes:
            rules[app.router.add_route(route.method, prefix + route.path, route.handler)] = route
            if route.method == "GET" and route.path not in explicit_head:
                rules[app.router.add_route("HEAD", prefix + route.path, route.handler)] = route


def rule_of(request: web.Request) -> Route:
    """The declared rule of the matched route; a route added without one is a bug (500)."""
    route = request.match_info.route
    rule = request.app.get(ROUTE_RULES, {}).get(route)
    if rule is None:
        raise RuntimeError(f"route {route.method} {request.path} has no declared access rule")
    return rule
