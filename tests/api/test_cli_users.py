"""`taskproc user add|list|token|remove` against the real Redis, then used over HTTP."""

from __future__ import annotations

from typing import Any

from services.api.app import create_app
from shared.settings import Settings
from tests.support.ocs import V2, basic
from tests.support.processes import run_cli


async def test_user_lifecycle_through_the_cli(aiohttp_client: Any, settings: Settings,
                                              redis: Any, keys: Any) -> None:
    api = await aiohttp_client(create_app(settings.model_copy(update={
        "auth_cache_seconds": 0.0})))
    code, out = await run_cli(settings, "user", "add", "carol", "--admin")
    assert code == 0 and out.startswith("user carol created; app password: ")
    password = out.rsplit(" ", 1)[1].strip()
    assert len(password) == 29 and password.count("-") == 4
    stored = {k.decode(): v for k, v in (await redis.hgetall(keys.user("carol"))).items()}
    assert password.encode() not in b"".join(stored.values())  # only a digest is stored
    me = await api.get("/ocs/v2.php/cloud/user?format=json", headers=basic("carol", password))
    assert (await me.json())["ocs"]["data"]["id"] == "carol"
    code, token = await run_cli(settings, "user", "token", "carol")
    bearer = {"Authorization": f"Bearer {token.strip()}"}
    assert (await api.get(f"{V2}/tasktypes?format=json", headers=bearer)).status == 200
    assert (await run_cli(settings, "user", "add", "carol"))[0] != 0
    code, listing = await run_cli(settings, "user", "list")
    assert "carol\tcarol\tadmin" in listing
    assert (await run_cli(settings, "user", "remove", "carol"))[0] == 0
    resp = await api.get(f"{V2}/tasktypes?format=json", headers=basic("carol", password))
    assert resp.status == 401
    assert (await api.get(f"{V2}/tasktypes?format=json", headers=bearer)).status == 401
