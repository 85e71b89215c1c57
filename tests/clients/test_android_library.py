"""nextcloud/android-library's V2 assistant operations (resources/assistant/v2/*), request by
request, decoded with their Gson models (v2/model/TaskTypes.kt, TaskList.kt, Translation.kt).

Source: nextcloud/android-library 5a9da0c. OkHttpMethodBase sends `Authorization` (the
account's Basic credentials), the app's User-Agent and, for these operations,
`OCS-APIRequest: true`; success is exactly HTTP 200 (HTTP_OK / SC_OK).
"""

from __future__ import annotations

from typing import Any

from tests.clients.replay import FINAL, Client, Model, conform, poll

HEADERS = {"User-Agent": "Mozilla/5.0 (Android) Nextcloud-android/3.33.0",
           "OCS-APIRequest": "true", "Accept-Encoding": "gzip"}
# Task: id Long; Int? fields reject fractions (Gson's nextInt), Strings are nullable.
TASK: Model = {"id": "int", "type": "str?", "status": "str?", "userId": "str?", "appId": "str?",
               "input": "dict?", "output": "dict?", "completionExpectedAt": "int?",
               "progress": "int?", "lastUpdated": "int?", "scheduledAt": "int?",
               "endedAt": "int?"}
# TaskTypeData: the shape maps are non-null Map<String, Shape>; Gson cannot read `[]` as a map.
TASK_TYPE: Model = {"id": "str?", "name": "str", "description": "str?", "inputShape": "dict",
                    "outputShape": "dict", "optionalInputShapeDefaults": "dict?",
                    "optionalInputShapeEnumValues": "dict?", "inputShapeEnumValues": "dict?",
                    "outputShapeEnumValues": "dict?", "optionalOutputShapeEnumValues": "dict?"}
SHAPE: Model = {"name": "str", "description": "str", "type": "str"}
ENUM_VALUE: Model = {"name": "str", "value": "str"}


async def get_task_types(op: Client) -> list[dict[str, Any]]:
    """GetTaskTypesRemoteOperationV2: Text-in/Text-out types, Chat and Translate (by name)."""
    resp = await op.send("GET", "/ocs/v2.php/taskprocessing/tasktypes?format=json")
    assert resp.status == 200
    out = []
    for key, tt in resp.json()["ocs"]["data"]["types"].items():
        assert conform(tt, TASK_TYPE) == [], key
        shapes = [*tt["inputShape"].values(), *tt["outputShape"].values()]
        assert all(conform(s, SHAPE) == [] for s in shapes), key
        single = all(len(m) == 1 and next(iter(m.values()))["type"] == "Text"
                     for m in (tt["inputShape"], tt["outputShape"]))
        if single or tt["name"] in ("Chat", "Translate"):
            out.append(tt | {"id": tt.get("id") or key})
    return sorted(out, key=lambda t: t["name"] == "Chat", reverse=True)


async def task_list(op: Client, type_id: str) -> list[dict[str, Any]]:
    """GetTaskListRemoteOperationV2."""
    resp = await op.send("GET", f"/ocs/v2.php/taskprocessing/tasks?taskType={type_id}"
                                "&format=json")
    assert resp.status == 200
    tasks: list[dict[str, Any]] = resp.json()["ocs"]["data"]["tasks"]
    return tasks


def decode(task: dict[str, Any]) -> list[str]:
    problems = conform(task, TASK)
    for slot in ("input", "output"):  # TaskInput(input: String?), TaskOutput(output: String?)
        if isinstance(task.get(slot), dict):
            problems += conform(task[slot], {slot: "str?"}, f"{slot}.")
    return problems


async def test_create_list_delete_as_android(live: Any) -> None:
    op = await live.user("alice", **HEADERS)
    types = {t["id"]: t for t in await get_task_types(op)}
    assert {"core:text2text", "core:text2text:translate"} <= set(types)
    body = {"input": {"input": "hi ncdev:hold"}, "type": "core:text2text", "appId": "assistant",
            "customId": ""}  # CreateTaskRemoteOperationV2.buildRequestBody
    resp = await op.send("POST", "/ocs/v2.php/taskprocessing/schedule", json=body)
    assert resp.status == 200
    (listed,) = await task_list(op, "core:text2text")
    if listed["status"] == "STATUS_SCHEDULED":  # else a dispatcher has started it already
        assert decode(listed) == [] and listed["progress"] == 0

    running = await poll(lambda: task_list(op, "core:text2text"),
                         lambda ts: ts[0]["status"] == "STATUS_RUNNING" and ts[0]["progress"])
    # A fraction while running, as Nextcloud 34 sends it (Gson's Int? cannot take 0.5 from 34
    # either); everything else decodes.
    assert running[0]["progress"] == 0.5 and decode({**running[0], "progress": None}) == []
    live.hold.set()
    done = await poll(lambda: task_list(op, "core:text2text"), lambda ts: ts[0]["status"] in FINAL)
    assert [decode(t) for t in done] == [[]]
    assert done[0]["output"]["output"] == "HI NCDEV:HOLD" and done[0]["progress"] == 1

    resp = await op.send("DELETE", f"/ocs/v2.php/taskprocessing/task/{done[0]['id']}")
    assert resp.status == 200  # DeleteTaskRemoteOperationV2: HTTP_OK
    assert await task_list(op, "core:text2text") == []


async def test_translation_as_android(live: Any) -> None:
    op = await live.user("alice", **HEADERS)
    tt = {t["id"]: t for t in await get_task_types(op)}["core:text2text:translate"]
    enums = tt["inputShapeEnumValues"]  # toTranslationLanguages
    origins = [(e["name"], e["value"]) for e in enums["origin_language"]]
    assert all(conform(e, ENUM_VALUE) == [] for e in enums["target_language"])
    assert origins == [("English", "en"), ("German", "de")]
    defaults = tt["optionalInputShapeDefaults"]  # toTranslationModel: model String, Double
    assert isinstance(defaults["model"], str) and defaults["max_tokens"] == 1024
    request = {"origin_language": "en", "max_tokens": float(defaults["max_tokens"]),
               "model": defaults["model"], "target_language": "de", "input": "Good morning"}
    resp = await op.send("POST", "/ocs/v2.php/taskprocessing/schedule", json={
        "input": request, "type": tt["id"], "appId": "assistant", "customId": ""})
    assert resp.status == 200
    done = await poll(lambda: task_list(op, tt["id"]), lambda ts: ts[0]["status"] in FINAL)
    assert [decode(t) for t in done] == [[]]
    assert done[0]["output"]["output"] == "[en→de] Good morning"
