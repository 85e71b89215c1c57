"""The access matrix (issue 11 item 12): every route both HTTP roles serve (taken from the same
route tables the OpenAPI document is generated from) x every kind of caller, over real HTTP on
a real Redis, against a fresh task of alice's for each cell.

Whoever is not entitled to alice's task must neither see it (its unique customId never appears
in the answer) nor change it (it still exists with the same status), and no cell is a 5xx.
Entitled: alice on the user routes, the ExApp serving the task's type on the provider routes.
Callers without valid credentials get no 2xx outside the public routes.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from services.api.app import create_app
from services.fileproxy.app import FILE_ROUTES
from services.openapi import all_routes, template
from shared.http.routes import Access, Route
from shared.settings import RateLimitSettings, Settings
from shared.store import TaskStore
from tests.support.ocs import V2, basic, provider_payload, register

CALLERS = ("owner", "other user", "guest", "serving exapp", "other exapp", "admin",
           "no auth", "wrong password")
ROUTES = all_routes()
_counter = itertools.count()


@pytest.fixture
async def world(aiohttp_client: Any, settings: Settings, make_user: Any, make_exapp: Any,
                redis: Any, keys: Any) -> dict[str, Any]:
    off = RateLimitSettings(schedule_user="", schedule_guest="", failed_login="",
                            failed_login_address="", schedule_exapp="")
    api = await aiohttp_client(create_app(settings.model_copy(
        update={"guests": True, "rate_limits": off}), extra_routes=FILE_ROUTES))
    serving = await make_exapp("llm2")
    await register(api, serving)
    headers = {"owner": await make_user("alice"), "other user": await make_user("bob"),
               "guest": {"OCS-APIRequest": "true"}, "serving exapp": serving,
               "other exapp": await make_exapp("intruder"),
               "admin": await make_user("root", admin=True), "no auth": {},
               "wrong password": basic("alice", "not-the-password")}
    return {"api": api, "headers": headers, "store": TaskStore(redis, keys)}


async def alice_task(world: dict[str, Any]) -> tuple[int, str]:
    marker = f"secret-{next(_counter)}"
    resp = await world["api"].post(f"{V2}/schedule?format=json", headers=world["headers"][
        "owner"], json={"type": "core:text2text", "appId": "matrix", "customId": marker,
                        "input": {"input": "hello"}})
    assert resp.status == 200, await resp.text()
    return int((await resp.json())["ocs"]["data"]["task"]["id"]), marker


def _url(prefix: str, route: Route, task_id: int) -> str:
    path = template(prefix, route)
    for name, value in (("id", task_id), ("taskId", task_id), ("fileId", 1),
                        ("appId", "matrix")):
        path = path.replace("{" + name + "}", str(value))
    return path + ("?format=json" if "?" not in path else "")


def _body(route: Route) -> dict[str, Any]:
    name = route.handler.__name__
    if name.endswith("_upload"):
        return {"data": b"bytes", "headers": {"X-File-Name": "f.bin"}}
    return {"json": {
        "schedule": {"type": "core:text2text", "appId": "x", "input": {"input": "x"}},
        "set_progress": {"progress": 0.5}, "set_result": {"output": {"output": "x"}},
        "register_provider": provider_payload(pid="intruder:p"),
        "unregister_provider": {"providerId": "llm2:text2text"},
        "exapp_log_message": {"level": 1, "message": "m"},
        "next_task": {"providerIds": ["llm2:text2text"], "taskTypeIds": ["core:text2text"]},
        "next_batch": {"providerIds": ["llm2:text2text"], "taskTypeIds": ["core:text2text"]},
    }.get(name, {})}


def entitled(caller: str, route: Route) -> bool:
    """May this caller see or change alice's task through this route?"""
    provider_route = route.access is Access.EXAPP and "/tasks_consumer/" not in route.path
    if caller == "owner":
        return route.access in (Access.USER, Access.GUEST_OK)
    return caller == "serving exapp" and provider_route


@pytest.mark.parametrize(("prefix", "route"), ROUTES,
                         ids=[f"{r.method} {template(p, r)}" for p, r in ROUTES])
async def test_every_caller_on_every_route(world: dict[str, Any], prefix: str,
                                           route: Route) -> None:
    api, store = world["api"], world["store"]
    for caller in CALLERS:
        task_id, marker = await alice_task(world)
        before = await store.get(task_id)
        extra = _body(route)
        headers = world["headers"][caller] | extra.pop("headers", {})
        resp = await api.request(route.method, _url(prefix, route, task_id), headers=headers,
                                 **extra)
        text = await resp.text()
        cell = f"{caller} on {route.method} {template(prefix, route)}: {resp.status} {text[:200]}"
        assert resp.status < 500, cell
        if caller in ("no auth", "wrong password") and route.access is not Access.PUBLIC:
            assert not 200 <= resp.status < 300, cell
        if entitled(caller, route):
            continue
        assert marker not in text, cell
        after = await store.get(task_id)
        assert after is not None and before is not None, cell
        assert after.status == before.status, cell
