"""What /schedule refuses before queueing (issue 11 items 5, 7, 10): webhook methods and URIs
Nextcloud would not run, an appId longer than Nextcloud's column, a full queue, too many live
tasks of one user; and the ExApp consumer route is rate limited too."""

from __future__ import annotations

from typing import Any

import pytest

from services.api.app import create_app
from shared.registry import ProviderRegistry
from shared.settings import Settings
from tests.support.ocs import V2
from tests.support.providers import EchoProvider


@pytest.fixture
async def echo(redis: Any, keys: Any) -> None:
    await ProviderRegistry(redis, keys).register(EchoProvider().spec, ttl_seconds=60)


async def schedule(api: Any, headers: dict[str, str], prefix: str = V2, **body: Any) -> Any:
    payload = {"type": "core:text2text", "appId": "tests", "input": {"input": "hi"}} | body
    return await api.post(f"{prefix}/schedule?format=json", json=payload, headers=headers)


@pytest.mark.parametrize("method", ["HTTP:POST", "HTTP:GET", "HTTP:PUT", "HTTP:DELETE",
                                    "AppAPI:myapp:POST"])
async def test_accepted_webhook_methods(api: Any, make_user: Any, echo: None,
                                        method: str) -> None:
    resp = await schedule(api, await make_user("alice"), webhookUri="https://example.com/h",
                          webhookMethod=method)
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize(("body", "message"), [
    ({"webhookUri": "https://example.com/h", "webhookMethod": "HTTP:PATCH"},
     "webhookMethod must be HTTP:GET, HTTP:POST, HTTP:PUT, HTTP:DELETE or AppAPI:<appId>:<method>"),
    ({"webhookUri": "https://example.com/h", "webhookMethod": "post"},
     "webhookMethod must be HTTP:GET, HTTP:POST, HTTP:PUT, HTTP:DELETE or AppAPI:<appId>:<method>"),
    ({"webhookUri": "https://example.com/h", "webhookMethod": "AppAPI:x"},
     "webhookMethod must be HTTP:GET, HTTP:POST, HTTP:PUT, HTTP:DELETE or AppAPI:<appId>:<method>"),
    ({"webhookUri": "ftp://example.com/h", "webhookMethod": "HTTP:POST"},
     "webhookUri must be an http or https URL"),
    ({"webhookUri": "https://example.com/" + "x" * 4000, "webhookMethod": "HTTP:POST"},
     "webhookUri must be at most 4000 characters"),
    ({"appId": "a" * 33}, "appId must be at most 32 characters"),
])
async def test_refused_schedule_parameters(api: Any, make_user: Any, echo: None,
                                           body: dict[str, Any], message: str) -> None:
    resp = await schedule(api, await make_user("alice"), **body)
    assert resp.status == 400
    assert (await resp.json())["ocs"]["data"] == {"message": message}


async def test_full_queue_is_503_with_retry_after(aiohttp_client: Any, settings: Settings,
                                                  make_user: Any, echo: None) -> None:
    api = await aiohttp_client(create_app(settings.model_copy(update={"max_queue_depth": 2})))
    alice = await make_user("alice")
    assert [(await schedule(api, alice)).status for _ in range(2)] == [200, 200]
    resp = await schedule(api, alice)
    assert resp.status == 503 and int(resp.headers["Retry-After"]) >= 1
    assert "queue" in (await resp.json())["ocs"]["data"]["message"]
    metrics = await (await api.get("/metrics")).text()
    assert 'taskproc_schedule_refused_total{reason="queue_full"} 1.0' in metrics


async def test_live_tasks_per_user_are_capped(aiohttp_client: Any, settings: Settings,
                                              make_user: Any, echo: None) -> None:
    api = await aiohttp_client(create_app(settings.model_copy(
        update={"max_live_tasks_per_user": 2})))
    alice, bob = await make_user("alice"), await make_user("bob")
    assert [(await schedule(api, alice)).status for _ in range(3)] == [200, 200, 429]
    assert (await schedule(api, bob)).status == 200
