"""Fixtures for ExApp tests: registered ExApps, providers, and a real listening server that
nc_py_api can be pointed at."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from shared.accounts import ExAppStore
from shared.keys import Keys
from tests.support.exapp_auth import exapp_headers

V2 = "/ocs/v2.php/taskprocessing"
V1 = "/ocs/v1.php/taskprocessing"
REGISTER = "/ocs/v1.php/apps/app_api/api/v1/ai_provider/task_processing"

ExAppFactory = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def make_exapp(redis: Redis, keys: Keys) -> ExAppFactory:
    """`await make_exapp("llm2", user="alice")` -> AppAPI headers of a new ExApp."""
    async def make(app_id: str = "llm2", user: str = "") -> dict[str, str]:
        secret = await ExAppStore(redis, keys).add(app_id)
        return exapp_headers(app_id, secret, user)
    return make


def provider_payload(pid: str = "llm2:text2text", task_type: str = "core:text2text",
                     expected_runtime: int = 30, **extra: Any) -> dict[str, Any]:
    """What nc_py_api 0.30.3 sends for a TaskProcessingProvider (shape types as ints)."""
    return {"provider": {"id": pid, "name": "LLM2", "task_type": task_type,
                         "expected_runtime": expected_runtime, "optional_input_shape": [],
                         "optional_output_shape": [], "input_shape_enum_values": {},
                         "input_shape_defaults": {}, "optional_input_shape_enum_values": {},
                         "optional_input_shape_defaults": {}, "output_shape_enum_values": {},
                         "optional_output_shape_enum_values": {}} | extra}


async def register(api: Any, headers: dict[str, str], **kw: Any) -> None:
    resp = await api.post(REGISTER + "?format=json", json=provider_payload(**kw), headers=headers)
    assert resp.status == 200, await resp.text()


async def schedule(api: Any, headers: dict[str, str], text: str = "hi",
                   task_type: str = "core:text2text", **body: Any) -> dict[str, Any]:
    payload = {"type": task_type, "appId": "tests", "input": {"input": text}} | body
    resp = await api.post(f"{V2}/schedule?format=json", json=payload, headers=headers)
    assert resp.status == 200, await resp.text()
    task: dict[str, Any] = (await resp.json())["ocs"]["data"]["task"]
    return task


async def next_task(api: Any, headers: dict[str, str], providers: list[str] | None = None,
                    types: list[str] | None = None, **query: Any) -> Any:
    body = {"providerIds": providers or ["llm2:text2text"],
            "taskTypeIds": types or ["core:text2text"]}
    return await api.get(f"{V2}/tasks_provider/next", params={"format": "json", **query},
                         json=body, headers=headers)
