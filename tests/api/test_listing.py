"""GET /tasks and /tasks/app/{appId} are capped at the newest `max_listed_tasks` and page with
`limit`/`offset` (issue 11 item 7), oldest first within the page as before."""

from __future__ import annotations

from typing import Any

import pytest

from services.api.app import create_app
from shared.registry import ProviderRegistry
from shared.settings import Settings
from tests.support.ocs import V2, scheduled_id
from tests.support.providers import EchoProvider


@pytest.fixture
async def capped(aiohttp_client: Any, settings: Settings, redis: Any, keys: Any) -> Any:
    await ProviderRegistry(redis, keys).register(EchoProvider().spec, ttl_seconds=60)
    limits = settings.rate_limits.model_copy(update={"schedule_user": ""})
    return await aiohttp_client(create_app(settings.model_copy(
        update={"max_listed_tasks": 5, "rate_limits": limits})))


async def ids(api: Any, headers: dict[str, str], path: str) -> list[int]:
    resp = await api.get(f"{V2}{path}", headers=headers)
    assert resp.status == 200, await resp.text()
    return [t["id"] for t in (await resp.json())["ocs"]["data"]["tasks"]]


async def test_lists_are_capped_to_the_newest_and_page(capped: Any, make_user: Any) -> None:
    alice = await make_user("alice")
    made = []
    for i in range(12):
        made.append(await scheduled_id(capped, alice, "x", appId="a" if i % 2 else "b"))
    assert await ids(capped, alice, "/tasks?format=json") == made[-5:]
    assert await ids(capped, alice, "/tasks?format=json&limit=3&offset=2") == made[-5:-2]
    assert await ids(capped, alice, "/tasks?format=json&limit=50") == made[-5:]  # still capped
    assert await ids(capped, alice, "/tasks/app/a?format=json&limit=2") == made[1::2][-2:]
    assert await ids(capped, alice, "/tasks?format=json&offset=100") == []
    resp = await capped.get(f"{V2}/tasks?format=json&limit=-1", headers=alice)
    assert resp.status == 400
