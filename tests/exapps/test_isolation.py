"""One ExApp against another (issue 11 item 2): an ExApp touches only tasks of task types it
registered a provider for, claimed by it; its user-less tasks are its own; everything else is
404 (delete: Nextcloud's idempotent 200, and nothing is deleted)."""

from __future__ import annotations

from typing import Any

from shared.registry import ProviderRegistry
from shared.store import TaskStore
from shared.tasks import Status
from tests.support.ocs import V2, next_task, register, scheduled
from tests.support.providers import GateProvider
from tests.support.waits import wait_for_status


async def _post(api: Any, headers: dict[str, str], task_id: int, what: str,
                body: dict[str, Any]) -> int:
    resp = await api.post(f"{V2}/tasks_provider/{task_id}/{what}?format=json", json=body,
                          headers=headers)
    return int(resp.status)


async def _provider_calls(api: Any, headers: dict[str, str], task_id: int) -> list[int]:
    return [await _post(api, headers, task_id, "progress", {"progress": 0.5}),
            await _post(api, headers, task_id, "result", {"output": {"output": "mine"}})]


async def test_another_exapp_cannot_claim_or_finish_a_task(
        api: Any, make_user: Any, make_exapp: Any, redis: Any, keys: Any) -> None:
    owner, rival, alice = await make_exapp("llm2"), await make_exapp("rival"), \
        await make_user("alice")
    await register(api, owner)
    await register(api, rival, pid="rival:summary", task_type="core:text2text:summary")
    task = await scheduled(api, alice)
    # naming the owner's provider gets the rival nothing
    assert (await next_task(api, rival)).status == 204
    assert await _provider_calls(api, rival, task["id"]) == [404, 404]  # scheduled
    assert await _provider_calls(api, owner, task["id"]) == [404, 404]  # not claimed yet
    assert (await next_task(api, owner)).status == 200
    assert await _provider_calls(api, rival, task["id"]) == [404, 404]  # running, not its own
    stored = await TaskStore(redis, keys).get(task["id"])
    assert stored is not None and stored.status is Status.RUNNING and stored.progress is None
    assert await _provider_calls(api, owner, task["id"]) == [200, 200]
    assert await _provider_calls(api, rival, task["id"]) == [404, 404]  # ended, not its own
    done = await TaskStore(redis, keys).get(task["id"])
    assert done is not None and done.output == {"output": "mine"}


async def test_no_exapp_touches_a_local_engines_task(
        api: Any, make_user: Any, make_exapp: Any, dispatcher: Any, redis: Any,
        keys: Any) -> None:
    app, alice = await make_exapp("llm2"), await make_user("alice")
    await register(api, app)
    gate = GateProvider()
    await dispatcher(gate)
    await ProviderRegistry(redis, keys).set_preference("core:text2text", gate.spec.id)
    task = await scheduled(api, alice)
    assert await gate.started.get() == task["id"]
    assert await _provider_calls(api, app, task["id"]) == [404, 404]
    gate.release.set()
    done = await wait_for_status(redis, keys, task["id"], Status.SUCCESSFUL)
    assert done.output == {"output": "released"}


async def _out_of_reach(api: Any, headers: dict[str, str], redis: Any, keys: Any,
                        tid: int) -> None:
    """The consumer routes keep task `tid` from `headers`: get and cancel are 404, delete
    answers 200 but the task stays."""
    consumer = f"{V2}/tasks_consumer"
    assert (await api.get(f"{consumer}/task/{tid}?format=json", headers=headers)).status == 404
    assert (await api.post(f"{consumer}/tasks/{tid}/cancel?format=json",
                           headers=headers)).status == 404
    assert (await api.delete(f"{consumer}/task/{tid}?format=json",
                             headers=headers)).status == 200
    kept = await TaskStore(redis, keys).get(tid)
    assert kept is not None and kept.status is Status.SCHEDULED


async def test_user_less_tasks_belong_to_the_exapp_that_made_them(
        api: Any, make_exapp: Any, redis: Any, keys: Any) -> None:
    maker, other = await make_exapp("context_chat"), await make_exapp("other")
    await register(api, await make_exapp("llm2"))
    resp = await api.post(f"{V2}/tasks_consumer/schedule?format=json", headers=maker,
                          json={"type": "core:text2text", "appId": "cc", "input": {"input": "q"}})
    tid = (await resp.json())["ocs"]["data"]["task"]["id"]
    await _out_of_reach(api, other, redis, keys, tid)
    assert (await api.get(f"{V2}/task/{tid}?format=json", headers=other)).status == 404
    assert (await api.get(f"{V2}/tasks_consumer/task/{tid}?format=json",
                          headers=maker)).status == 200


async def test_an_exapp_cannot_reach_guest_tasks(api: Any, make_exapp: Any, redis: Any,
                                                 keys: Any) -> None:
    app = await make_exapp("context_chat")
    await register(api, await make_exapp("llm2"))
    guest_task = await TaskStore(redis, keys).schedule(
        task_type="core:text2text", user_id=None, app_id="t", custom_id="",
        inputs={"input": "x"}, webhook_uri=None, webhook_method=None, include_watermark=True,
        expected_runtime=1, guest="192.0.2.7")
    await _out_of_reach(api, app, redis, keys, guest_task.id)
