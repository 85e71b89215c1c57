"""The fileproxy: every route that carries file bytes, so the api never touches them.

`FILE_ROUTES` run in either app: `create_fileproxy_app` (the fileproxy role, behind a router
that sends file paths here) or the api's `create_app(settings, extra_routes=FILE_ROUTES)` (one
base URL in development). Both share the Services context and the OCS middleware.
"""

from __future__ import annotations

from aiohttp import web

from services.fileproxy import downloads, uploads
from shared.http import wire
from shared.http.context import SETTINGS, services_ctx
from shared.http.metrics import instrument
from shared.http.routes import Access, Route, add_routes
from shared.http.security import gateway_middlewares
from shared.settings import Settings

_USER_FILE = r"/tasks/{taskId}/file/{fileId}"
_SEED_FILE = r"/task/{taskId}/file/{fileId}"
_PROVIDER_FILE = r"/tasks_provider/{taskId}/file/{fileId}"

_READ = ("GET", "HEAD")

# Served under the v2 and v1 /taskprocessing prefixes. Downloads need no OCS-APIRequest header
# (browsers follow links); uploads stream their body, so only the query is parsed.
FILE_ROUTES: list[Route] = [
    *[Route(m, _USER_FILE, downloads.user_file, Access.USER, csrf=False) for m in _READ],
    *[Route(m, _SEED_FILE, downloads.user_file, Access.USER, csrf=False)  # seed alias
      for m in _READ],
    *[Route(m, _PROVIDER_FILE, downloads.provider_file, Access.EXAPP) for m in _READ],
    Route("POST", r"/tasks_provider/{taskId}/file", uploads.provider_upload, Access.EXAPP,
          body=False),
    Route("POST", "/files", uploads.user_upload, Access.USER, body=False),  # extension
]


def create_fileproxy_app(settings: Settings) -> web.Application:
    """Build the fileproxy application (the `fileproxy` role; tests reuse it)."""
    app = web.Application(middlewares=gateway_middlewares(settings),
                          client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(services_ctx)
    add_routes(app, FILE_ROUTES)
    instrument(app, "fileproxy")  # /metrics, /healthz, /readyz
    wire.install(app)
    return app
