"""A taskproc standing in for Nextcloud: the OCS routes (api) and the file routes on one port.

Usage: python -m tests.support.run_upstream   (settings from TASKPROC_*; port TASKPROC_API_PORT)
The bridge tests point the bridge at it: it serves the same AppAPI registration and provider
routes as Nextcloud.
"""

from __future__ import annotations

from aiohttp import web

from services.api.app import create_app
from services.fileproxy.app import FILE_ROUTES
from shared import logs
from shared.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    logs.setup("INFO")
    web.run_app(create_app(settings, extra_routes=FILE_ROUTES), host=settings.host,
                port=settings.api_port, print=None, access_log=None, shutdown_timeout=2)


if __name__ == "__main__":
    main()
