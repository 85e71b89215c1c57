"""Leases on ExApp claims: a worker that dies holding a task, renewal by progress, fencing of
late results, bounded attempts (issue items 4 and 5)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.settings import Settings
from shared.store import LEASE_LOST_MESSAGE
from shared.tasks import Status
from tests.support.ocs import V2, next_task, register, scheduled
from tests.support.waits import wait_for_status


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Claims of a provider with expected_runtime=1 hold a 1 s lease."""
    return settings.model_copy(update={"exapp_lease_min_seconds": 1.0,
                                       "exapp_lease_factor": 1.0})


async def result(api: Any, headers: dict[str, str], task_id: int, text: str,
                 **extra: Any) -> dict[str, Any]:
    resp = await api.post(f"{V2}/tasks_provider/{task_id}/result?format=json",
                          json={"output": {"output": text}} | extra, headers=headers)
    assert resp.status == 200
    task: dict[str, Any] = (await resp.json())["ocs"]["data"]["task"]
    return task


async def test_a_dead_workers_task_goes_to_the_next_claim(
        api: Any, make_user: Any, make_exapp: Any, dispatcher: Any, redis: Any,
        keys: Any) -> None:
    app, alice = await make_exapp(), await make_user("alice")
    await register(api, app, expected_runtime=1)
    await dispatcher()  # sweeps expired leases
    task = await scheduled(api, alice)
    first = await next_task(api, app)
    lease = first.headers["X-Taskproc-Lease"]
    assert lease.startswith(f"{task['id']}:")
    # worker 1 dies here; worker 2 long-polls and gets the task once the lease expires
    second = await next_task(api, app, wait="10")
    claimed = (await second.json())["ocs"]["data"]["task"]
    assert claimed["id"] == task["id"] and claimed["status"] == "STATUS_RUNNING"
    assert second.headers["X-Taskproc-Lease"] != lease
    done = await result(api, app, task["id"], "from worker 2")
    assert done["status"] == "STATUS_SUCCESSFUL"
    late = await result(api, app, task["id"], "from worker 1",
                        leaseToken=lease.split(":", 1)[1])
    assert late["output"] == {"output": "from worker 2"}
    stored = await wait_for_status(redis, keys, task["id"], Status.SUCCESSFUL)
    assert stored.output == {"output": "from worker 2"} and stored.attempt == 2


async def test_a_stale_claim_cannot_finish_the_new_run(
        api: Any, make_user: Any, make_exapp: Any, dispatcher: Any) -> None:
    app, alice = await make_exapp("llm2"), await make_user("alice")
    await register(api, app, expected_runtime=1)
    await dispatcher()
    task = await scheduled(api, alice)
    stale = (await next_task(api, app)).headers["X-Taskproc-Lease"].split(":", 1)[1]
    renewed = await next_task(api, app, wait="10")  # a second worker of the same ExApp
    assert renewed.status == 200
    by_token = await result(api, app, task["id"], "stale, with its token", leaseToken=stale)
    assert by_token["status"] == "STATUS_RUNNING" and by_token["output"] is None
    fresh = renewed.headers["X-Taskproc-Lease"].split(":", 1)[1]
    done = await result(api, app, task["id"], "new run", leaseToken=fresh)
    assert done["status"] == "STATUS_SUCCESSFUL" and done["output"] == {"output": "new run"}


async def test_progress_renews_the_lease(api: Any, make_user: Any, make_exapp: Any,
                                         dispatcher: Any) -> None:
    app, alice = await make_exapp(), await make_user("alice")
    await register(api, app, expected_runtime=1)
    await dispatcher()
    task = await scheduled(api, alice)
    await next_task(api, app)
    for step in range(6):  # 3 s of work with a 1 s lease
        resp = await api.post(f"{V2}/tasks_provider/{task['id']}/progress?format=json",
                              json={"progress": step / 10}, headers=app, )
        body = (await resp.json())["ocs"]["data"]["task"]
        assert body["status"] == "STATUS_RUNNING" and body["progress"] == step / 10
        assert (await next_task(api, app, wait="0.5")).status == 204
    assert (await result(api, app, task["id"], "done"))["status"] == "STATUS_SUCCESSFUL"


async def test_attempts_are_bounded(api: Any, make_user: Any, make_exapp: Any, dispatcher: Any,
                                    redis: Any, keys: Any, settings: Settings) -> None:
    app, alice = await make_exapp(), await make_user("alice")
    await register(api, app, expected_runtime=1)
    await dispatcher()
    task = await scheduled(api, alice)
    for _ in range(settings.max_attempts):
        assert (await next_task(api, app, wait="10")).status == 200
    failed = await wait_for_status(redis, keys, task["id"], Status.FAILED)
    assert failed.user_facing_error_message == LEASE_LOST_MESSAGE
    assert (await next_task(api, app)).status == 204
