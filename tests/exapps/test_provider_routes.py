"""Provider routes over HTTP with a registered ExApp (reference §1.4, §4)."""

from __future__ import annotations

from typing import Any

from tests.support.ocs import V1, V2, next_task, register, scheduled


async def test_next_claims_and_result_finishes(api: Any, make_user: Any, make_exapp: Any) -> None:
    app, alice = await make_exapp(), await make_user("alice")
    await register(api, app)
    task = await scheduled(api, alice)
    resp = await next_task(api, app)
    assert resp.status == 200
    data = (await resp.json())["ocs"]["data"]
    assert data["provider"] == {"name": "llm2:text2text"}
    assert data["task"]["id"] == task["id"] and data["task"]["status"] == "STATUS_RUNNING"
    resp = await api.post(f"{V2}/tasks_provider/{task['id']}/progress?format=json",
                          json={"taskId": task["id"], "progress": 0.5}, headers=app)
    assert (await resp.json())["ocs"]["data"]["task"]["progress"] == 0.5
    resp = await api.post(f"{V2}/tasks_provider/{task['id']}/result?format=json",
                          json={"taskId": task["id"], "output": {"output": "HI"},
                                "errorMessage": None, "userFacingErrorMessage": None},
                          headers=app)
    done = (await resp.json())["ocs"]["data"]["task"]
    assert done["status"] == "STATUS_SUCCESSFUL" and done["output"] == {"output": "HI"}
    assert (await next_task(api, app)).status == 204


async def test_provider_routes_refuse_users(api: Any, make_user: Any) -> None:
    resp = await api.get(f"{V2}/tasks_provider/next", headers=await make_user("bob"))
    assert resp.status == 412 and await resp.json() == {"message": "ExApp required"}


async def test_empty_queue_is_204_on_v2_and_statuscode_204_on_v1(api: Any,
                                                                 make_exapp: Any) -> None:
    app = await make_exapp()
    await register(api, app)
    resp = await next_task(api, app)
    assert resp.status == 204 and await resp.read() == b""
    resp = await api.get(f"{V1}/tasks_provider/next?format=json&providerIds[]=llm2:text2text"
                         "&taskTypeIds[]=core:text2text", headers=app)
    meta = (await resp.json())["ocs"]["meta"]
    assert resp.status == 200 and meta["statuscode"] == 204
