"""AppAPI request headers for tests that act as an ExApp (reference §4.1)."""

from __future__ import annotations

import base64

from redis.asyncio import Redis

from shared.accounts import ExAppStore
from shared.keys import Keys


def exapp_headers(app_id: str, secret: str, user_id: str = "",
                  version: str = "1.0.0") -> dict[str, str]:
    """The headers nc_py_api sends: EX-APP-ID, EX-APP-VERSION, AA-VERSION, AUTHORIZATION-APP-API."""
    token = base64.b64encode(f"{user_id}:{secret}".encode()).decode()
    return {"EX-APP-ID": app_id, "EX-APP-VERSION": version, "AA-VERSION": "32.0.0",
            "AUTHORIZATION-APP-API": token, "OCS-APIRequest": "true"}


async def make_exapp_headers(redis: Redis, keys: Keys, app_id: str = "app") -> dict[str, str]:
    """Register an ExApp and return headers authenticating as it."""
    secret = await ExAppStore(redis, keys).add(app_id)
    return exapp_headers(app_id, secret)
