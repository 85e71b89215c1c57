"""The ExApp consumer schedule route is rate limited too (issue 11 item 7)."""

from __future__ import annotations

from typing import Any

from services.api.app import create_app
from shared.registry import ProviderRegistry
from shared.settings import RateLimitSettings, Settings
from tests.support.ocs import V2
from tests.support.providers import EchoProvider


async def schedule(api: Any, headers: dict[str, str], prefix: str) -> Any:
    payload = {"type": "core:text2text", "appId": "tests", "input": {"input": "hi"}}
    return await api.post(f"{prefix}/schedule?format=json", json=payload, headers=headers)


async def test_consumer_schedule_is_rate_limited(aiohttp_client: Any, settings: Settings,
                                                 make_exapp: Any, redis: Any,
                                                 keys: Any) -> None:
    await ProviderRegistry(redis, keys).register(EchoProvider().spec, ttl_seconds=60)
    limits = RateLimitSettings(schedule_exapp="2/2 minutes")
    api = await aiohttp_client(create_app(settings.model_copy(update={"rate_limits": limits})))
    app, other = await make_exapp("consumer"), await make_exapp("other")
    statuses = [(await schedule(api, app, f"{V2}/tasks_consumer")).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert (await schedule(api, other, f"{V2}/tasks_consumer")).status == 200
