"""How the HTTP roles' servers are run: the aiohttp server options taken from the settings."""

from __future__ import annotations

from typing import Any

from shared.settings import Settings


def server_options(settings: Settings) -> dict[str, Any]:
    """Options for `web.run_app` / `web.AppRunner`.

    aiohttp closes a connection that has not delivered a complete request within its keep-alive
    time, counted from the connection's start or its previous answer: that is the header
    timeout against slow clients. A reverse proxy's upstream keep-alive should stay below it.
    """
    return {"keepalive_timeout": settings.header_timeout_seconds}
