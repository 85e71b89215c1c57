"""ExApps that consume TaskProcessing through nc_py_api's `nc.ocs` (nc-py-api 0.30.3), as
nextcloud/context_agent does (ex_app/lib/all_tools/lib/task_processing.py `run_task`, and the
tools' `is_available`): the ExApp acts as a user, schedules on the v1 routes, validates the
answers with its pydantic models and polls every few seconds until SUCCESSFUL or FAILED.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nc_py_api import AsyncNextcloudApp
from pydantic import BaseModel
from redis.asyncio import Redis

from shared.accounts import ExAppStore
from shared.keys import Keys
from tests.clients.replay import poll
from tests.support.live import Live


class Task(BaseModel):  # context_agent's model, field for field
    id: int
    status: str
    output: dict[str, Any] | None = None
    userFacingErrorMessage: str | None = None


class Response(BaseModel):
    task: Task


@pytest.fixture
async def agent(live: Live, redis: Redis, keys: Keys,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncNextcloudApp]:
    """context_agent as AppAPI deploys it, acting for alice."""
    await live.user("alice")
    secret = await ExAppStore(redis, keys).add("context_agent")
    for name, value in {"NEXTCLOUD_URL": live.base + "/", "APP_ID": "context_agent",
                        "APP_SECRET": secret, "APP_VERSION": "2.0.0",
                        "AA_VERSION": "34.0.0", "APP_PORT": "9999"}.items():
        monkeypatch.setenv(name, value)
    nc = AsyncNextcloudApp()
    await nc.set_user("alice")
    yield nc
    await nc._session.adapter.close()


async def run_task(nc: AsyncNextcloudApp, type_: str, task_input: dict[str, Any]) -> Task:
    response = await nc.ocs("POST", "/ocs/v1.php/taskprocessing/schedule",
                            json={"type": type_, "appId": "context_agent", "input": task_input})
    task = Response.model_validate(response).task
    assert task.status == "STATUS_SCHEDULED"

    async def fetch() -> Task:
        got = await nc.ocs("GET", f"/ocs/v1.php/taskprocessing/task/{task.id}")
        return Response.model_validate(got).task
    return await poll(fetch, lambda t: t.status in ("STATUS_SUCCESSFUL", "STATUS_FAILED"))  # type: ignore[no-any-return]


async def test_is_available_and_run_task(agent: AsyncNextcloudApp) -> None:
    tasktypes = (await agent.ocs("GET", "/ocs/v2.php/taskprocessing/tasktypes"))["types"].keys()
    assert "core:text2text" in tasktypes and "core:text2image" not in tasktypes
    task = await run_task(agent, "core:text2text", {"input": "plan my day"})
    assert task.status == "STATUS_SUCCESSFUL" and task.output == {"output": "PLAN MY DAY"}


async def test_a_failed_task_carries_its_user_facing_message(agent: AsyncNextcloudApp) -> None:
    task = await run_task(agent, "core:text2text:summary", {"input": "ncdev:fail-user"})
    assert task.status == "STATUS_FAILED" and task.output is None
    assert task.userFacingErrorMessage == "The fake provider was asked to fail."


async def test_running_task_reads_as_the_model_expects(agent: AsyncNextcloudApp,
                                                       live: Live) -> None:
    response = await agent.ocs("POST", "/ocs/v1.php/taskprocessing/schedule", json={
        "type": "core:text2text", "appId": "context_agent", "input": {"input": "ncdev:hold"}})
    task_id = Response.model_validate(response).task.id

    async def fetch() -> Any:
        return await agent.ocs("GET", f"/ocs/v1.php/taskprocessing/task/{task_id}")
    running = await poll(fetch, lambda r: r["task"]["progress"] == 0.5)  # held, RUNNING
    assert Response.model_validate(running).task.output is None
    assert running["task"]["progress"] == 0.5
    live.hold.set()
    await asyncio.wait_for(poll(fetch, lambda r: r["task"]["status"] == "STATUS_SUCCESSFUL"), 20)
