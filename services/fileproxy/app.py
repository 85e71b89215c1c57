"""The fileproxy: every route that carries file bytes, so the api never touches them.

`FILE_ROUTES` run in either app: `create_fileproxy_app` (the fileproxy role, behind a router
that sends file paths here) or the api's `create_app(settings, extra_routes=FILE_ROUTES)` (one
base URL in development). Both share the Services context and the OCS middleware.
"""

from __future__ import annotations

from aiohttp import web

from services.fileproxy import downloads, uploads
from shared.http.context import SETTINGS, services_ctx
from shared.http.metrics import instrument
from shared.http.routes import Handler, add_routes
from shared.http.security import ocs_middleware
from shared.settings import Settings

_USER_FILE = r"/tasks/{taskId:\d+}/file/{fileId:\d+}"
_SEED_FILE = r"/task/{taskId:\d+}/file/{fileId:\d+}"
_PROVIDER_FILE = r"/tasks_provider/{taskId:\d+}/file/{fileId:\d+}"

# (method, path under /taskprocessing, handler), served under the v2 and v1 prefixes.
FILE_ROUTES: list[tuple[str, str, Handler]] = [
    *[(m, _USER_FILE, downloads.user_file) for m in ("GET", "HEAD")],
    *[(m, _SEED_FILE, downloads.user_file) for m in ("GET", "HEAD")],        # seed alias
    *[(m, _PROVIDER_FILE, downloads.provider_file) for m in ("GET", "HEAD")],
    ("POST", r"/tasks_provider/{taskId:\d+}/file", uploads.provider_upload),
    ("POST", "/files", uploads.user_upload),                                  # extension
]


def create_fileproxy_app(settings: Settings) -> web.Application:
    """Build the fileproxy application (the `fileproxy` role; tests reuse it)."""
    app = web.Application(middlewares=[ocs_middleware], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(services_ctx)
    add_routes(app, FILE_ROUTES)
    instrument(app, "fileproxy")  # /metrics, /healthz, /readyz
    return app
