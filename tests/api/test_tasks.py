"""User routes over real HTTP against a real Redis (reference §1.3, §2, §3.4)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.registry import ProviderRegistry
from shared.settings import RateLimitSettings, Settings
from tests.support.ocs import V2, schedule
from tests.support.providers import EchoProvider


@pytest.fixture
async def echo_registered(redis: Any, keys: Any) -> EchoProvider:
    provider = EchoProvider()
    await ProviderRegistry(redis, keys).register(provider.spec, ttl_seconds=60)
    return provider


async def test_tasktypes_lists_only_available_types_with_13_fields(
        api: Any, make_user: Any, echo_registered: Any) -> None:
    resp = await api.get(f"{V2}/tasktypes?format=json", headers=await make_user("alice"))
    types = (await resp.json())["ocs"]["data"]["types"]
    assert list(types) == ["core:text2text"]
    entry = types["core:text2text"]
    assert len(entry) == 13
    assert entry["inputShape"] == {"input": {"name": "Prompt", "description":
                                   "Describe a task that you want the assistant to do or ask a "
                                   "question", "type": "Text"}}
    assert entry["optionalInputShape"]["mode"]["type"] == "Enum"
    assert entry["optionalInputShapeEnumValues"]["mode"][0] == {"name": "Upper",
                                                                "value": "upper"}
    assert entry["optionalInputShapeDefaults"] == {"mode": "upper"}
    assert entry["inputShapeEnumValues"] == {} and entry["outputShapeEnumValues"] == {}
    assert entry["isInternal"] is False


async def test_tasktypes_without_providers_is_an_empty_map(api: Any, make_user: Any) -> None:
    # Nextcloud 34 sends {"types": []} here, which Swift's [String: TaskTypeData] cannot decode.
    resp = await api.get(f"{V2}/tasktypes?format=json", headers=await make_user("alice"))
    assert (await resp.json())["ocs"]["data"] == {"types": {}}


async def test_schedule_returns_the_task_in_nextcloud_shape(
        api: Any, make_user: Any, echo_registered: Any) -> None:
    resp = await schedule(api, await make_user("alice"), customId="c1",
                          input={"input": "hi", "junk": 1, "count": "3"})
    assert resp.status == 200
    task = (await resp.json())["ocs"]["data"]["task"]
    assert set(task) == {"id", "type", "lastUpdated", "status", "userId", "appId", "input",
                         "output", "customId", "completionExpectedAt", "progress",
                         "scheduledAt", "startedAt", "endedAt", "allowCleanup",
                         "includeWatermark", "userFacingErrorMessage"}
    assert task["status"] == "STATUS_SCHEDULED"
    assert task["userId"] == "alice" and task["appId"] == "tests" and task["customId"] == "c1"
    assert task["input"] == {"input": "hi", "mode": "upper", "count": "3"}
    assert task["completionExpectedAt"] == task["scheduledAt"] + 10
    assert task["output"] is None and task["progress"] is None and task["endedAt"] is None
    assert task["includeWatermark"] is True and task["allowCleanup"] is True


@pytest.mark.parametrize(("body", "message"), [
    ({"input": {}}, 'Missing key: "input"'),
    ({"input": {"input": 5}},
     'Failed to validate input key "input": Non-text item provided for Text slot'),
    ({"input": {"input": "x", "count": "three"}},
     'Failed to validate input key "count": Non-numeric item provided for Number slot'),
    ({"input": {"input": "x", "mode": "sideways"}},
     'Failed to validate input key "mode": Provided value is not one of the enum values'),
    ({"customId": "x" * 256}, "customId must be at most 255 characters"),
    ({"appId": ""}, 'Missing or invalid parameter "appId"'),
    ({"includeWatermark": "maybe"}, 'Parameter "includeWatermark" must be a boolean'),
])
async def test_schedule_validation_errors_are_400(api: Any, make_user: Any,
                                                  echo_registered: Any, body: dict[str, Any],
                                                  message: str) -> None:
    resp = await schedule(api, await make_user("alice"), **body)
    assert resp.status == 400
    assert (await resp.json())["ocs"]["data"] == {"message": message}


async def test_unknown_or_unavailable_type_is_412(api: Any, make_user: Any,
                                                  echo_registered: Any) -> None:
    headers = await make_user("alice")
    for task_type in ("core:nope", "core:text2text:summary"):
        resp = await schedule(api, headers, type=task_type)
        assert resp.status == 412
        assert (await resp.json())["ocs"]["data"] == {
            "message": "The given provider is not available"}


async def test_file_slot_with_unknown_file_is_400(api: Any, make_user: Any, redis: Any,
                                                  keys: Any) -> None:
    await ProviderRegistry(redis, keys).register(
        EchoProvider("core:audio2text", "test:stt").spec, 60)
    resp = await schedule(api, await make_user("alice"), type="core:audio2text",
                          input={"input": 77})
    assert resp.status == 400
    assert (await resp.json())["ocs"]["data"] == {"message": "Could not find file 77"}


async def test_form_and_php_style_parameters(api: Any, make_user: Any,
                                             echo_registered: Any) -> None:
    headers = await make_user("alice")
    resp = await api.post(f"{V2}/schedule?format=json", headers=headers, data={
        "type": "core:text2text", "appId": "forms", "input[input]": "from a form"})
    assert resp.status == 200
    assert (await resp.json())["ocs"]["data"]["task"]["input"]["input"] == "from a form"
    resp = await api.post(f"{V2}/schedule?format=json&type=core:text2text&appId=q"
                          "&input[input]=from%20the%20query", headers=headers)
    assert (await resp.json())["ocs"]["data"]["task"]["appId"] == "q"


async def test_get_list_cancel_delete_and_isolation(api: Any, make_user: Any,
                                                    echo_registered: Any) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    t1 = (await (await schedule(api, alice, customId="a")).json())["ocs"]["data"]["task"]
    await schedule(api, alice, appId="other", customId="b")
    tid = t1["id"]
    got = await (await api.get(f"{V2}/task/{tid}?format=json", headers=alice)).json()
    assert got["ocs"]["data"]["task"]["id"] == tid
    seed = await api.post(f"{V2}/task/{tid}?format=json", headers=alice)
    assert (await seed.json())["ocs"]["data"]["task"]["id"] == tid
    for method, path in (("GET", f"/task/{tid}"), ("POST", f"/tasks/{tid}/cancel"),
                         ("POST", f"/task/{tid}/cancel")):
        resp = await api.request(method, f"{V2}{path}?format=json", headers=bob)
        assert resp.status == 404, path
    lst = await (await api.get(f"{V2}/tasks?format=json", headers=alice)).json()
    assert len(lst["ocs"]["data"]["tasks"]) == 2
    lst = await (await api.get(f"{V2}/tasks?format=json&customId=a", headers=alice)).json()
    assert [t["id"] for t in lst["ocs"]["data"]["tasks"]] == [tid]
    lst = await (await api.get(f"{V2}/tasks?taskType=core:other&format=json",
                               headers=alice)).json()
    assert lst["ocs"]["data"]["tasks"] == []
    app = await (await api.get(f"{V2}/tasks/app/other?format=json", headers=alice)).json()
    assert [t["customId"] for t in app["ocs"]["data"]["tasks"]] == ["b"]
    assert (await (await api.get(f"{V2}/tasks?format=json", headers=bob)).json()
            )["ocs"]["data"]["tasks"] == []
    resp = await api.delete(f"{V2}/task/{tid}?format=json", headers=bob)
    assert resp.status == 200  # idempotent, and bob's delete does nothing
    assert (await api.get(f"{V2}/task/{tid}?format=json", headers=alice)).status == 200
    cancelled = await (await api.post(f"{V2}/tasks/{tid}/cancel?format=json",
                                      headers=alice)).json()
    assert cancelled["ocs"]["data"]["task"]["status"] == "STATUS_CANCELLED"
    assert cancelled["ocs"]["data"]["task"]["endedAt"] is not None
    again = await (await api.post(f"{V2}/task/{tid}/cancel?format=json", headers=alice)).json()
    assert again["ocs"]["data"]["task"]["status"] == "STATUS_CANCELLED"
    resp = await api.delete(f"{V2}/task/{tid}?format=json", headers=alice)
    assert resp.status == 200 and (await resp.json())["ocs"]["data"] is None
    assert (await api.get(f"{V2}/task/{tid}?format=json", headers=alice)).status == 404
    assert (await api.delete(f"{V2}/task/{tid}?format=json", headers=alice)).status == 200


async def test_schedule_rate_limit_per_user_with_headers(api: Any, make_user: Any,
                                                         echo_registered: Any) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    for i in range(20):
        resp = await schedule(api, alice)
        assert resp.status == 200, i
    assert resp.headers["X-RateLimit-Limit"] == "20"
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    resp = await schedule(api, alice)
    assert resp.status == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 120
    assert (await schedule(api, bob)).status == 200


async def test_guests_off_by_default_and_on_with_setting(
        aiohttp_client: Any, settings: Settings, echo_registered: Any) -> None:
    from services.api.app import create_app
    guest = {"OCS-APIRequest": "true"}
    off = await aiohttp_client(create_app(settings))
    assert (await off.get(f"{V2}/tasktypes?format=json", headers=guest)).status == 401
    on = await aiohttp_client(create_app(settings.model_copy(update={
        "guests": True, "rate_limits": RateLimitSettings(schedule_guest="2/2 minutes")})))
    resp = await schedule(on, guest)
    task = (await resp.json())["ocs"]["data"]["task"]
    assert resp.status == 200 and task["userId"] is None
    got = await on.get(f"{V2}/task/{task['id']}?format=json", headers=guest)
    assert (await got.json())["ocs"]["data"]["task"]["userId"] is None
    assert (await on.get(f"{V2}/tasks?format=json", headers=guest)).status == 401
    assert (await schedule(on, guest)).status == 200
    assert (await schedule(on, guest)).status == 429


async def test_get_task_rate_limit_is_a_setting(aiohttp_client: Any, settings: Settings,
                                                make_user: Any, echo_registered: Any) -> None:
    from services.api.app import create_app
    client = await aiohttp_client(create_app(settings.model_copy(update={
        "rate_limits": RateLimitSettings(get_task_user="2/2 minutes")})))
    alice = await make_user("alice")
    tid = (await (await schedule(client, alice)).json())["ocs"]["data"]["task"]["id"]
    codes = [(await client.get(f"{V2}/task/{tid}?format=json", headers=alice)).status
             for _ in range(3)]
    assert codes == [200, 200, 429]


async def test_guest_tasks_are_bound_to_the_guest_address(
        aiohttp_client: Any, settings: Settings, echo_registered: Any, redis: Any,
        keys: Any, make_user: Any) -> None:
    from services.api.app import create_app
    from shared.store import TaskStore
    on = await aiohttp_client(create_app(settings.model_copy(update={"guests": True})))
    guest = {"OCS-APIRequest": "true"}
    mine = (await (await schedule(on, guest)).json())["ocs"]["data"]["task"]["id"]
    other = await TaskStore(redis, keys).schedule(
        task_type="core:text2text", user_id=None, app_id="t", custom_id="", inputs={"input": "x"},
        webhook_uri=None, webhook_method=None, include_watermark=True, expected_runtime=1,
        guest="192.0.2.7")
    assert (await on.get(f"{V2}/task/{mine}?format=json", headers=guest)).status == 200
    assert (await on.get(f"{V2}/task/{other.id}?format=json", headers=guest)).status == 404
    alice = await make_user("alice")
    assert (await on.get(f"{V2}/task/{mine}?format=json", headers=alice)).status == 404
