"""The api gateway: a route table over small handlers, built by one factory that tests reuse."""

from __future__ import annotations

from aiohttp import web

from services.api import cloud, tasks
from services.api.appapi import APPAPI_ROUTES
from services.api.consumer import CONSUMER_ROUTES
from services.api.docs import DOC_ROUTES
from services.api.provider_routes import PROVIDER_ROUTES
from services.api.queue import QUEUE_ROUTES
from services.api.ready import ready_ctx
from shared.http import wire
from shared.http.context import SETTINGS, services_ctx
from shared.http.metrics import instrument
from shared.http.routes import OCS_PREFIXES, Access, Route, add_routes
from shared.http.security import gateway_middlewares
from shared.settings import Settings

# (method, path under /taskprocessing, handler). Seed aliases are marked.
TASKPROCESSING_ROUTES: list[Route] = [
    Route("GET", "/tasktypes", tasks.tasktypes, Access.GUEST_OK),
    Route("POST", "/schedule", tasks.schedule, Access.GUEST_OK),
    Route("GET", r"/task/{id}", tasks.get_task, Access.GUEST_OK),
    Route("POST", r"/task/{id}", tasks.get_task, Access.GUEST_OK),  # seed alias
    Route("DELETE", r"/task/{id}", tasks.delete_task, Access.USER),
    Route("GET", "/tasks/app/{appId:[^/]+}", tasks.list_app_tasks, Access.USER),
    Route("GET", "/tasks", tasks.list_tasks, Access.USER),
    Route("POST", r"/tasks/{taskId}/cancel", tasks.cancel_task, Access.USER),
    Route("POST", r"/task/{id}/cancel", tasks.cancel_task, Access.USER),  # seed alias
    *PROVIDER_ROUTES, *CONSUMER_ROUTES, *QUEUE_ROUTES,
]

CLOUD_ROUTES: list[Route] = [
    Route("GET", "/cloud/capabilities", cloud.capabilities, Access.PUBLIC),
    Route("GET", "/cloud/user", cloud.current_user, Access.USER),
]

def create_app(settings: Settings,
               extra_routes: list[Route] | None = None) -> web.Application:
    """Build the api application (routes of later issues arrive through `extra_routes`)."""
    app = web.Application(middlewares=gateway_middlewares(settings),
                          client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(services_ctx)
    app.cleanup_ctx.append(ready_ctx)
    add_routes(app, TASKPROCESSING_ROUTES + (extra_routes or []))
    add_routes(app, CLOUD_ROUTES + APPAPI_ROUTES, OCS_PREFIXES)
    add_routes(app, DOC_ROUTES, ("",))
    instrument(app, "api")
    wire.install(app)
    return app
