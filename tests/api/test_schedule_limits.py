"""What /schedule refuses before queueing (issue 11 items 5, 7, 10): webhook methods and URIs
Nextcloud would not run, an appId longer than Nextcloud's column, a full queue, too many live
tasks of one user; and the ExApp consumer route is rate limited too."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from services.api.app import create_app
from shared.keys import Keys
from shared.registry import ProviderRegistry
from shared.settings import Settings
from shared.store import Admission, Refusal, Refused, TaskStore
from tests.support.ocs import V2
from tests.support.providers import EchoProvider


@pytest.fixture
async def echo(redis: Any, keys: Any) -> None:
    await ProviderRegistry(redis, keys).register(EchoProvider().spec, ttl_seconds=60)


@pytest.fixture
def api_with(aiohttp_client: Any, settings: Settings) -> Callable[..., Awaitable[Any]]:
    """`await api_with(max_queue_depth=2)`: an api client with those settings changed."""
    async def make(**changes: Any) -> Any:
        return await aiohttp_client(create_app(settings.model_copy(update=changes)))
    return make


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


async def test_full_queue_is_503_with_retry_after(api_with: Any, make_user: Any,
                                                  echo: None) -> None:
    api = await api_with(max_queue_depth=2)
    alice = await make_user("alice")
    assert [(await schedule(api, alice)).status for _ in range(2)] == [200, 200]
    resp = await schedule(api, alice)
    assert resp.status == 503 and int(resp.headers["Retry-After"]) >= 1
    assert "queue" in (await resp.json())["ocs"]["data"]["message"]
    metrics = await (await api.get("/metrics")).text()
    assert 'taskproc_schedule_refused_total{reason="queue_full"} 1.0' in metrics


async def test_live_tasks_per_user_are_capped(api_with: Any, make_user: Any, echo: None) -> None:
    api = await api_with(max_live_tasks_per_user=2)
    alice, bob = await make_user("alice"), await make_user("bob")
    assert [(await schedule(api, alice)).status for _ in range(3)] == [200, 200, 429]
    assert (await schedule(api, bob)).status == 200
    metrics = await (await api.get("/metrics")).text()
    assert 'taskproc_schedule_refused_total{reason="live_tasks"} 1.0' in metrics


async def test_finished_and_deleted_tasks_free_the_cap(api_with: Any, make_user: Any,
                                                       echo: None) -> None:
    api = await api_with(max_live_tasks_per_user=2)
    alice = await make_user("alice")
    first, second = [(await (await schedule(api, alice)).json())["ocs"]["data"]["task"]["id"]
                     for _ in range(2)]
    assert (await schedule(api, alice)).status == 429
    cancelled = await api.post(f"{V2}/tasks/{first}/cancel?format=json", headers=alice)
    assert cancelled.status == 200
    assert (await schedule(api, alice)).status == 200
    assert (await schedule(api, alice)).status == 429
    assert (await api.delete(f"{V2}/task/{second}?format=json", headers=alice)).status == 200
    assert (await schedule(api, alice)).status == 200


async def test_concurrent_schedules_do_not_overshoot_the_cap(api_with: Any, make_user: Any,
                                                             echo: None) -> None:
    """The cap is checked in the same script as the write, so a burst gets exactly the cap."""
    api = await api_with(max_live_tasks_per_user=3)
    alice = await make_user("alice")
    burst = await asyncio.gather(*(schedule(api, alice) for _ in range(10)))
    assert sorted(r.status for r in burst) == [200] * 3 + [429] * 7


async def test_a_stale_registry_generation_writes_nothing(redis: Any, keys: Keys) -> None:
    """The schedule script compares the registry generation the caller validated against."""
    store = TaskStore(redis, keys)
    await redis.incr(keys.providers_gen)
    kwargs: dict[str, Any] = {
        "task_type": "core:text2text", "user_id": "alice", "app_id": "t", "custom_id": "",
        "inputs": {"input": "x"}, "webhook_uri": None, "webhook_method": None,
        "include_watermark": True, "expected_runtime": 1}
    with pytest.raises(Refused) as refused:
        await store.schedule(**kwargs, admission=Admission(registry_gen=0))
    assert refused.value.reason is Refusal.REGISTRY
    assert await redis.get(keys.task_seq) is None
    task = await store.schedule(**kwargs, admission=Admission(registry_gen=1, max_live=1))
    assert await redis.smembers(keys.user_live("alice")) == {str(task.id).encode()}
