"""Registration edge cases, the consumer routes, queue figures and clear 400s."""

from __future__ import annotations

import argparse
from typing import Any

from services.admin import exapp_add
from tests.support.exapp_auth import exapp_headers
from tests.support.ocs import REGISTER, V2, next_task, provider_payload, register, scheduled


async def test_registration_needs_an_exapp_and_owns_the_provider_id(
        api: Any, make_user: Any, make_exapp: Any) -> None:
    resp = await api.post(REGISTER + "?format=json", json=provider_payload(),
                          headers=await make_user("bob"))
    assert resp.status == 401  # AppAPI's own route, as Nextcloud 34 answers it
    meta = (await resp.json())["ocs"]["meta"]
    assert (meta["statuscode"], meta["message"]) == (997, "AppAPI authentication failed")
    app, thief = await make_exapp("llm2"), await make_exapp("thief")
    await register(api, app)
    resp = await api.post(REGISTER + "?format=json", json=provider_payload(), headers=thief)
    assert (await resp.json())["ocs"]["meta"]["statuscode"] == 400
    resp = await api.delete(REGISTER + "?format=json&name=llm2:text2text", headers=thief)
    assert (await resp.json())["ocs"]["meta"]["statuscode"] == 404
    resp = await api.post(REGISTER + "?format=json", json={"provider": {"id": "x", "name": "X"}},
                          headers=app)
    assert "task_type" in (await resp.json())["ocs"]["data"]["message"]


async def test_progress_out_of_range_is_400_not_500(api: Any, make_user: Any,
                                                   make_exapp: Any) -> None:
    app, alice = await make_exapp(), await make_user("alice")
    await register(api, app)
    task = await scheduled(api, alice)
    for bad in (1.5, -0.1, "x", None):
        resp = await api.post(f"{V2}/tasks_provider/{task['id']}/progress?format=json",
                              json={"progress": bad}, headers=app)
        assert resp.status == 400
        assert (await resp.json())["ocs"]["data"]["message"] == \
            'Parameter "progress" must be a number from 0 to 1'
    resp = await api.post(f"{V2}/tasks_provider/999/progress?format=json",
                          json={"progress": 0.1}, headers=app)
    assert resp.status == 404
    assert (await next_task(api, app)).status == 200
    resp = await api.post(f"{V2}/tasks_provider/{task['id']}/result?format=json",
                          json={"output": None, "errorMessage": None}, headers=app)
    assert resp.status == 400


async def test_seed_aliases_for_progress_and_result(api: Any, make_user: Any,
                                                    make_exapp: Any) -> None:
    app, alice = await make_exapp(), await make_user("alice")
    await register(api, app)
    task = await scheduled(api, alice)
    assert (await next_task(api, app)).status == 200
    resp = await api.get(f"{V2}/task/{task['id']}/progress?format=json&progress=0.3",
                         headers=app)
    assert (await resp.json())["ocs"]["data"]["task"]["status"] == "STATUS_RUNNING"
    resp = await api.post(f"{V2}/task/{task['id']}/result?format=json",
                          json={"output": {"output": "ok"}}, headers=app)
    assert (await resp.json())["ocs"]["data"]["task"]["status"] == "STATUS_SUCCESSFUL"
    resp = await api.post(f"{V2}/task/{task['id']}/result?format=json",
                          json={"output": {"output": "x"}}, headers=await make_user("bob"))
    assert resp.status == 412


async def test_consumer_routes_without_a_user(api: Any, make_exapp: Any,
                                              make_user: Any) -> None:
    app, anon = await make_exapp("llm2"), await make_exapp("context_chat")
    await register(api, app)
    resp = await api.get(f"{V2}/tasks_consumer/tasktypes?format=json", headers=anon)
    assert "core:text2text" in (await resp.json())["ocs"]["data"]["types"]
    resp = await api.post(f"{V2}/tasks_consumer/schedule?format=json", headers=anon,
                          json={"type": "core:text2text", "appId": "cc",
                                "input": {"input": "q"}})
    task = (await resp.json())["ocs"]["data"]["task"]
    assert task["userId"] is None
    resp = await api.get(f"{V2}/tasks_consumer/task/{task['id']}?format=json", headers=anon)
    assert (await resp.json())["ocs"]["data"]["task"]["id"] == task["id"]
    alice = await make_user("alice")
    resp = await api.get(f"{V2}/task/{task['id']}?format=json", headers=alice)
    assert resp.status == 404
    resp = await api.post(f"{V2}/tasks_consumer/tasks/{task['id']}/cancel?format=json",
                          headers=anon)
    assert (await resp.json())["ocs"]["data"]["task"]["status"] == "STATUS_CANCELLED"
    resp = await api.delete(f"{V2}/tasks_consumer/task/{task['id']}?format=json", headers=anon)
    assert resp.status == 200
    resp = await api.get(f"{V2}/tasks_consumer/task/{task['id']}?format=json", headers=anon)
    assert resp.status == 404
    resp = await api.get(f"{V2}/tasks_consumer/tasktypes", headers=alice)
    assert resp.status == 412


async def test_consumer_acting_as_a_user(api: Any, make_exapp: Any, make_user: Any) -> None:
    app = await make_exapp("llm2")
    await register(api, app)
    alice = await make_user("alice")
    as_alice = await make_exapp("assistant", user="alice")
    resp = await api.post(f"{V2}/tasks_consumer/schedule?format=json", headers=as_alice,
                          json={"type": "core:text2text", "appId": "a", "input": {"input": "q"}})
    task = (await resp.json())["ocs"]["data"]["task"]
    assert task["userId"] == "alice"
    resp = await api.get(f"{V2}/task/{task['id']}?format=json", headers=alice)
    assert resp.status == 200


async def test_queue_stats_and_position(api: Any, make_user: Any, make_exapp: Any) -> None:
    app, alice = await make_exapp(), await make_user("alice")
    admin = await make_user("root", admin=True)
    await register(api, app)
    await register(api, app, pid="llm2:summary", task_type="core:text2text:summary")
    tasks = [await scheduled(api, alice) for _ in range(3)]
    await scheduled(api, alice, task_type="core:text2text:summary")
    await next_task(api, app)
    resp = await api.get(f"{V2}/queue_stats?format=json", headers=admin)
    assert (await resp.json())["ocs"]["data"] == {"scheduled_count": 3, "running_count": 1}
    resp = await api.get(f"{V2}/queue_stats?format=json&taskTypeId=core:text2text",
                         headers=admin)
    assert (await resp.json())["ocs"]["data"] == {"scheduled_count": 2, "running_count": 1}
    resp = await api.get(f"{V2}/queue_stats?format=json", headers=alice)
    assert resp.status == 403
    resp = await api.get(f"{V2}/tasks/{tasks[2]['id']}/queue_position?format=json",
                         headers=alice)
    assert (await resp.json())["ocs"]["data"] == {"position": 2}
    resp = await api.get(f"{V2}/tasks/{tasks[0]['id']}/queue_position?format=json",
                         headers=alice)
    assert resp.status == 412
    resp = await api.get(f"{V2}/tasks/{tasks[2]['id']}/queue_position?format=json",
                         headers=admin)
    assert resp.status == 404


async def test_cli_exapp_add_prints_a_working_secret(api: Any, settings: Any,
                                                     capsys: Any) -> None:
    assert await exapp_add(settings, argparse.Namespace(app_id="cli_app", version="2.0")) == 0
    secret = capsys.readouterr().out.strip().rsplit("secret: ", 1)[1]
    await register(api, exapp_headers("cli_app", secret, version="2.0"), pid="cli_app:p")
    resp = await api.post(REGISTER, json=provider_payload(),
                          headers=exapp_headers("cli_app", secret, version="1.0"))
    assert resp.status == 401  # the pinned version does not match
