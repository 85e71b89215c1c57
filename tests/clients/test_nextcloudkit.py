"""NextcloudKit (the iOS library), request by request as NextcloudKit+AssistantV2.swift sends
them, decoded with its Codable models (Models/Assistant/v2/TaskList.swift, TaskTypes.swift).

Source: nextcloud/NextcloudKit 6d21f12. `createStandardUrl` appends "/" to the base URL and the
schedule, list and delete endpoints start with "/", so those requests go to `//ocs/v2.php/…`.
Every request carries Basic auth, the app's User-Agent, `Accept: application/json` and
`OCS-APIRequest: true`; schedule is Alamofire's `URLEncoding.default` (a form body, keys sorted).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.clients.replay import FINAL, Client, Model, conform, poll

HEADERS = {"User-Agent": "Mozilla/5.0 (iOS) Nextcloud-iOS/7.1.0", "Accept": "application/json",
           "OCS-APIRequest": "true"}
# AssistantTask: id Int64; the rest optional. Swift's JSONDecoder fails the whole response if one
# value does not decode into its declared type.
ASSISTANT_TASK: Model = {"id": "int", "type": "str?", "status": "str?", "userId": "str?",
                         "appId": "str?", "input": "dict?", "output": "dict?",
                         "completionExpectedAt": "int?", "progress": "int?",
                         "lastUpdated": "int?", "scheduledAt": "int?", "endedAt": "int?"}
TASK_TYPE_DATA: Model = {"id": "str?", "name": "str?", "description": "str?",
                         "inputShape": "dict?", "outputShape": "dict?"}
SHAPE: Model = {"name": "str", "description": "str", "type": "str"}


def decode_task(task: Any) -> list[str]:
    problems = conform(task, ASSISTANT_TASK)
    for slot in ("input", "output"):  # TaskInput / TaskOutput: `input` / `output` String?
        if isinstance(task.get(slot), dict):
            problems += conform(task[slot], {slot: "str?"}, f"{slot}.")
    return problems


async def get_types(nk: Client) -> dict[str, Any]:
    resp = await nk.send("GET", "/ocs/v2.php/taskprocessing/tasktypes")
    assert resp.status == 200
    types: dict[str, Any] = resp.json()["ocs"]["data"]["types"]  # [String: TaskTypeData]
    assert isinstance(types, dict)
    for key, tt in types.items():
        assert conform(tt, TASK_TYPE_DATA) == [], key
        for shape in [*tt["inputShape"].values(), *tt["outputShape"].values()]:
            assert conform(shape, SHAPE) == [], key
    return types


def is_single_text(tt: dict[str, Any]) -> bool:
    shapes = (list(tt["inputShape"].values()), list(tt["outputShape"].values()))
    return all(len(s) == 1 and s[0]["type"] == "Text" for s in shapes)


async def schedule(nk: Client, type_id: str, text: str) -> dict[str, Any]:
    form = f"appId=assistant&customId=&input%5Binput%5D={quote(text)}&type={quote(type_id)}"
    resp = await nk.send("POST", "//ocs/v2.php/taskprocessing/schedule", form=form)
    assert resp.status == 200  # validate(statusCode: 200..<300)
    task: dict[str, Any] = resp.json()["ocs"]["data"]["task"]
    return task


async def list_tasks(nk: Client, type_id: str) -> list[dict[str, Any]]:
    resp = await nk.send("GET", f"//ocs/v2.php/taskprocessing/tasks?taskType={type_id}")
    assert resp.status == 200
    tasks: list[dict[str, Any]] = resp.json()["ocs"]["data"]["tasks"]
    return tasks


async def test_types_schedule_list_delete_as_nextcloudkit(live: Any) -> None:
    nk = await live.user("alice", **HEADERS)
    types = await get_types(nk)
    offered = sorted(k for k, t in types.items() if is_single_text(t) or k ==
                     "core:text2text:chat" or "translate" in k)
    assert offered == ["core:text2text", "core:text2text:headline", "core:text2text:summary",
                       "core:text2text:topics", "core:text2text:translate"]
    task = await schedule(nk, "core:text2text", "hello ncdev:hold")
    assert decode_task(task) == [] and task["input"] == {"input": "hello ncdev:hold"}
    assert task["status"] == "STATUS_SCHEDULED" and task["appId"] == "assistant"

    running = await poll(lambda: list_tasks(nk, "core:text2text"),
                         lambda ts: ts[0]["status"] == "STATUS_RUNNING" and ts[0]["progress"])
    # progress 0.5 while running, as Nextcloud 34 reports it: NextcloudKit's `progress: Int?`
    # cannot decode a fraction from 34 either; every other field decodes.
    assert running[0]["progress"] == 0.5
    assert decode_task({**running[0], "progress": None}) == []
    live.hold.set()
    done = await poll(lambda: list_tasks(nk, "core:text2text"),
                      lambda ts: ts[0]["status"] in FINAL)
    assert [decode_task(t) for t in done] == [[]]
    assert done[0]["output"] == {"output": "HELLO NCDEV:HOLD"} and done[0]["progress"] == 1

    resp = await nk.send("DELETE", f"//ocs/v2.php/taskprocessing/task/{task['id']}")
    assert resp.status == 200
    assert await list_tasks(nk, "core:text2text") == []


async def test_tasktypes_is_a_map_even_when_empty(aiohttp_server: Any, settings: Any,
                                                  make_user: Any) -> None:
    from services.api.app import create_app
    server = await aiohttp_server(create_app(settings))
    headers = await make_user("bob")
    nk = Client(f"http://{server.host}:{server.port}",
                {"Authorization": headers["Authorization"], **HEADERS})
    assert await get_types(nk) == {}  # 34 sends [] here, which [String: TaskTypeData] rejects
