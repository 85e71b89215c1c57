"""OCS calls as tests make them: the route prefixes, credentials, scheduling, the envelope."""

from __future__ import annotations

import base64
import io
from typing import Any

from aiohttp import ClientResponse, FormData

V2 = "/ocs/v2.php/taskprocessing"
V1 = "/ocs/v1.php/taskprocessing"
REGISTER = "/ocs/v1.php/apps/app_api/api/v1/ai_provider/task_processing"
"""AppAPI's provider registration route (nc_py_api calls it on v1)."""
OCS_HEADERS = {"OCS-APIRequest": "true"}
"""The header every OCS request carries (all a guest sends)."""
OCS_JSON = OCS_HEADERS | {"Accept": "application/json"}
"""What Nextcloud's own clients send to get JSON without `?format=json`."""


Client = Any
"""aiohttp's TestClient, or a ClientSession with a base URL: anything with get/post/delete."""


def basic(user: str, password: str) -> dict[str, str]:
    """Headers of a user's OCS request: HTTP Basic and the OCS-APIRequest header."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"} | OCS_HEADERS


async def data(resp: ClientResponse, status: int = 200) -> Any:
    """`ocs.data` of a JSON answer, after checking the HTTP status (the body says why not)."""
    assert resp.status == status, await resp.text()
    return (await resp.json())["ocs"]["data"]


def task_body(text: str = "hi", task_type: str = "core:text2text", **body: Any) -> dict[str, Any]:
    """A schedule request body; keyword arguments add or replace fields."""
    return {"type": task_type, "appId": "tests", "input": {"input": text}} | body


async def schedule(client: Client, headers: dict[str, str], text: str = "hi",
                   task_type: str = "core:text2text", **body: Any) -> ClientResponse:
    """POST /schedule (JSON); the response, for tests of refusals."""
    return await client.post(f"{V2}/schedule?format=json", headers=headers,
                             json=task_body(text, task_type, **body))


async def scheduled(client: Client, headers: dict[str, str], text: str = "hi",
                    task_type: str = "core:text2text", **body: Any) -> dict[str, Any]:
    """POST /schedule that must succeed; the task's JSON."""
    task: dict[str, Any] = (await data(await schedule(client, headers, text, task_type,
                                                      **body)))["task"]
    return task


async def scheduled_id(client: Client, headers: dict[str, str], text: str = "hi",
                       task_type: str = "core:text2text", **body: Any) -> int:
    """POST /schedule that must succeed; the task id."""
    return int((await scheduled(client, headers, text, task_type, **body))["id"])


async def upload(client: Client, headers: dict[str, str], content: bytes,
                 name: str = "in.bin") -> int:
    """Upload through the users' extension route (`POST /files`); the file id."""
    resp = await client.post(f"{V2}/files?format=json", data=content,
                             headers=headers | {"X-File-Name": name})
    return int((await data(resp, 201))["fileId"])


def form(content: bytes, name: str = "out.bin", field: str = "file") -> FormData:
    """A multipart body with one file field."""
    body = FormData()
    body.add_field(field, io.BytesIO(content), filename=name,
                   content_type="application/octet-stream")
    return body


def provider_payload(pid: str = "llm2:text2text", task_type: str = "core:text2text",
                     expected_runtime: int = 30, **extra: Any) -> dict[str, Any]:
    """What nc_py_api 0.30.3 sends for a TaskProcessingProvider (shape types as ints)."""
    return {"provider": {"id": pid, "name": "LLM2", "task_type": task_type,
                         "expected_runtime": expected_runtime, "optional_input_shape": [],
                         "optional_output_shape": [], "input_shape_enum_values": {},
                         "input_shape_defaults": {}, "optional_input_shape_enum_values": {},
                         "optional_input_shape_defaults": {}, "output_shape_enum_values": {},
                         "optional_output_shape_enum_values": {}} | extra}


async def register(client: Client, headers: dict[str, str], **kw: Any) -> None:
    """Register an ExApp's provider the AppAPI way (see `provider_payload`)."""
    resp = await client.post(REGISTER + "?format=json", json=provider_payload(**kw),
                             headers=headers)
    assert resp.status == 200, await resp.text()


async def next_task(client: Client, headers: dict[str, str], providers: list[str] | None = None,
                    types: list[str] | None = None, **query: Any) -> ClientResponse:
    """GET tasks_provider/next as nc_py_api sends it (ids in a JSON body)."""
    body = {"providerIds": providers or ["llm2:text2text"],
            "taskTypeIds": types or ["core:text2text"]}
    return await client.get(f"{V2}/tasks_provider/next", params={"format": "json", **query},
                            json=body, headers=headers)
