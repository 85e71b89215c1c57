"""The real nc_py_api package against a listening taskproc: an ExApp registers a provider,
takes tasks with next_task, reports progress, uploads a result file and reports results; a user
schedules and reads tasks through nc_py_api's own OCS client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from nc_py_api import AsyncNextcloud, AsyncNextcloudApp
from nc_py_api.ex_app.providers.task_processing import (
    ShapeDescriptor,
    ShapeEnumValue,
    ShapeType,
    TaskProcessingProvider,
    TaskType,
)
from redis.asyncio import Redis

from services.api.app import create_app
from services.fileproxy.app import FILE_ROUTES
from shared.accounts import ExAppStore, UserStore
from shared.keys import Keys
from shared.settings import Settings
from shared.tasks import Status
from tests.support.ocs import V2
from tests.support.waits import wait_for_status


@pytest.fixture
async def server(aiohttp_server: Any, settings: Settings) -> TestServer:
    """The api with the file routes, listening on a loopback port."""
    srv: TestServer = await aiohttp_server(create_app(settings, extra_routes=FILE_ROUTES))
    return srv


@pytest.fixture
async def nc_app(server: TestServer, redis: Redis, keys: Keys,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncNextcloudApp]:
    """An ExApp configured the way AppAPI deploys one: through the environment."""
    secret = await ExAppStore(redis, keys).add("llm2")
    for name, value in {"NEXTCLOUD_URL": str(server.make_url("/")), "APP_ID": "llm2",
                        "APP_SECRET": secret, "APP_VERSION": "1.0.0",
                        "AA_VERSION": "32.0.0", "APP_PORT": "9999"}.items():
        monkeypatch.setenv(name, value)
    nc = AsyncNextcloudApp()
    yield nc
    await nc._session.adapter.close()


@pytest.fixture
async def nc_user(server: TestServer, redis: Redis, keys: Keys) -> AsyncIterator[AsyncNextcloud]:
    password = await UserStore(redis, keys).add("alice")
    nc = AsyncNextcloud(nextcloud_url=str(server.make_url("/")), nc_auth_user="alice",
                        nc_auth_pass=password)
    yield nc
    await nc._session.adapter.close()


PROVIDER = TaskProcessingProvider(
    id="llm2:text2text", name="LLM2", task_type="core:text2text", expected_runtime=30,
    optional_input_shape=[ShapeDescriptor("tone", "How to answer", ShapeType.ENUM)],
    optional_input_shape_enum_values={"tone": [ShapeEnumValue("Dry", "dry"),
                                               ShapeEnumValue("Warm", "warm")]},
    optional_input_shape_defaults={"tone": "dry"})


async def user_schedule(nc: AsyncNextcloud, task_type: str, inputs: dict[str, Any]) -> Any:
    return (await nc._session.ocs("POST", f"{V2}/schedule", json={
        "type": task_type, "appId": "assistant", "input": inputs}))["task"]


async def test_exapp_serves_a_users_task_end_to_end(nc_app: AsyncNextcloudApp,
                                                    nc_user: AsyncNextcloud) -> None:
    tp = nc_app.providers.task_processing
    await tp.register(PROVIDER)
    types = (await nc_user._session.ocs("GET", f"{V2}/tasktypes"))["types"]
    assert types["core:text2text"]["optionalInputShapeDefaults"] == {"tone": "dry"}
    assert await tp.next_task(["llm2:text2text"], ["core:text2text"]) == {}
    task = await user_schedule(nc_user, "core:text2text", {"input": "hello"})
    got = await tp.next_task(["llm2:text2text"], ["core:text2text"])
    assert got["provider"]["name"] == "llm2:text2text"
    assert got["task"]["id"] == task["id"] and got["task"]["input"]["tone"] == "dry"
    progress = await tp.set_progress(task["id"], 40.0)
    assert progress["task"]["progress"] == 0.4
    done = await tp.report_result(task["id"], {"output": "HELLO"})
    assert done["task"]["status"] == "STATUS_SUCCESSFUL"
    read = (await nc_user._session.ocs("GET", f"{V2}/task/{task['id']}"))["task"]
    assert read["output"] == {"output": "HELLO"} and read["progress"] == 1.0


async def test_custom_task_type_with_a_result_file(nc_app: AsyncNextcloudApp,
                                                   nc_user: AsyncNextcloud) -> None:
    tp = nc_app.providers.task_processing
    custom = TaskType(id="llm2:poster", name="Poster", description="Draws a poster",
                      input_shape=[ShapeDescriptor("Prompt", "What to draw", ShapeType.TEXT)],
                      output_shape=[ShapeDescriptor("Poster", "The poster", ShapeType.IMAGE)])
    await tp.register(TaskProcessingProvider(id="llm2:poster", name="Poster maker",
                                             task_type="llm2:poster"), custom)
    types = (await nc_user._session.ocs("GET", f"{V2}/tasktypes"))["types"]
    assert types["llm2:poster"]["outputShape"]["Poster"]["type"] == "Image"
    task = await user_schedule(nc_user, "llm2:poster", {"Prompt": "a cat"})
    got = await tp.next_task(["llm2:poster"], ["llm2:poster"])
    assert got["task"]["id"] == task["id"]
    file_id = await tp.upload_result_file(task["id"], b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    done = await tp.report_result(task["id"], {"Poster": file_id})
    assert done["task"]["status"] == "STATUS_SUCCESSFUL"
    assert done["task"]["output"] == {"Poster": file_id}
    resp = await nc_user._session.adapter.get(f"{V2}/tasks/{task['id']}/file/{file_id}")
    assert resp.status_code == 200 and resp.content.startswith(b"\x89PNG")


async def test_error_result_and_invalid_output(nc_app: AsyncNextcloudApp,
                                               nc_user: AsyncNextcloud) -> None:
    tp = nc_app.providers.task_processing
    await tp.register(PROVIDER)
    first = await user_schedule(nc_user, "core:text2text", {"input": "a"})
    second = await user_schedule(nc_user, "core:text2text", {"input": "b"})
    batch = await tp.next_task_batch(["llm2:text2text"], ["core:text2text"], 5)
    assert [t["task"]["id"] for t in batch["tasks"]] == [first["id"], second["id"]]
    assert batch["tasks"][0]["provider"] == "llm2:text2text" and batch["has_more"] is False
    failed = await tp.report_result(first["id"], error_message="CUDA OOM",
                                    user_facing_error_message="Out of memory")
    assert failed["task"]["status"] == "STATUS_FAILED"
    assert failed["task"]["userFacingErrorMessage"] == "Out of memory"
    invalid = await tp.report_result(second["id"], {"output": 42})
    assert invalid["task"]["status"] == "STATUS_FAILED" and invalid["task"]["progress"] == 1.0


async def test_cancel_while_the_exapp_works(nc_app: AsyncNextcloudApp, nc_user: AsyncNextcloud,
                                            redis: Redis, keys: Keys) -> None:
    tp = nc_app.providers.task_processing
    await tp.register(PROVIDER)
    task = await user_schedule(nc_user, "core:text2text", {"input": "long"})
    await tp.next_task(["llm2:text2text"], ["core:text2text"])
    await nc_user._session.ocs("POST", f"{V2}/tasks/{task['id']}/cancel")
    progress = await tp.set_progress(task["id"], 50.0)
    assert progress["task"]["status"] == "STATUS_CANCELLED"  # how the ExApp learns to stop
    late = await tp.report_result(task["id"], {"output": "too late"})
    assert late["task"]["status"] == "STATUS_CANCELLED" and late["task"]["output"] is None
    final = await wait_for_status(redis, keys, task["id"], Status.CANCELLED)
    assert final.output is None


async def test_unregister_removes_the_type(nc_app: AsyncNextcloudApp,
                                           nc_user: AsyncNextcloud) -> None:
    tp = nc_app.providers.task_processing
    await tp.register(PROVIDER)
    await tp.unregister("llm2:text2text")
    await tp.unregister("llm2:text2text")  # nc_py_api swallows the 404
    types = (await nc_user._session.ocs("GET", f"{V2}/tasktypes"))["types"]
    assert types == {}
    await asyncio.sleep(0)
