"""The Assistant frontend's task sequence (nextcloud/assistant 0b97714, src/assistant.js:
scheduleTask, pollTask/updateTask, cancelTask; TaskList.vue's delete; AudioDisplay.vue's
output download), with the headers @nextcloud/axios sends from a browser.

A browser signs in to a Nextcloud, not to taskproc: without a session, browser headers alone
are refused exactly as Nextcloud 34 refuses them (412 "CSRF check failed", measured). The
sequence is then replayed as it arrives through a Nextcloud that forwards it (Basic
credentials and `OCS-APIRequest`); the file download keeps the browser's headers only, which
34 allows (no OCS-APIRequest needed).
"""

from __future__ import annotations

from typing import Any

from tests.clients.replay import Client, Model, conform, poll
from tests.support.ocs import V2

BROWSER = {"Accept": "application/json, text/plain, */*", "X-Requested-With": "XMLHttpRequest",
           "requesttoken": "dGhlLXRva2Vu:bm90LWEtc2Vzc2lvbg==",
           "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
           "Origin": "https://cloud.example", "Sec-Fetch-Mode": "cors"}
FORWARDED = {"OCS-APIRequest": "true"}
# What updateTask and the modal read: status, progress (× 100 while running), scheduledAt,
# startedAt, completionExpectedAt, output; id/type/input for the task list.
TASK: Model = {"id": "int", "type": "str", "status": "str", "input": "dict", "output": "dict?",
               "progress": "number", "scheduledAt": "int?", "startedAt": "int?",
               "completionExpectedAt": "int?", "appId": "str", "customId": "str"}


async def schedule(page: Client, type_id: str, inputs: dict[str, Any]) -> Any:
    return await page.send("POST", f"{V2}/schedule", headers=FORWARDED, json={
        "input": inputs, "type": type_id, "appId": "assistant", "customId": "",
        "preferStreaming": True})


async def get_task(page: Client, task_id: int) -> Any:
    return await page.send("GET", f"{V2}/task/{task_id}", headers=FORWARDED)


async def test_browser_headers_without_a_session_are_refused_as_34(live: Any) -> None:
    page = await live.user("alice", **BROWSER)
    resp = await page.send("POST", f"{V2}/schedule", json={
        "input": {"input": "x"}, "type": "core:text2text", "appId": "assistant",
        "customId": "", "preferStreaming": True})
    assert (resp.status, resp.json()) == (412, {"message": "CSRF check failed"})


async def test_schedule_poll_finish_and_download(live: Any) -> None:
    page = await live.user("alice", **BROWSER)
    resp = await schedule(page, "core:text2speech", {"input": "hello ncdev:hold"})
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/json")
    task = resp.json()["ocs"]["data"]["task"]
    assert conform(task | {"progress": 0}, TASK) == [] and task["output"] is None

    running = await poll(lambda: get_task(page, task["id"]),
                         lambda r: r.json()["ocs"]["data"]["task"]["progress"] == 0.5)
    t = running.json()["ocs"]["data"]["task"]
    assert conform(t, TASK) == [] and t["progress"] * 100 == 50 and t["startedAt"] is not None
    live.hold.set()
    done = await poll(lambda: get_task(page, task["id"]),
                      lambda r: r.json()["ocs"]["data"]["task"]["status"] not in (
                          "STATUS_SCHEDULED", "STATUS_RUNNING"))
    t = done.json()["ocs"]["data"]["task"]
    assert conform(t, TASK) == [] and t["status"] == "STATUS_SUCCESSFUL"
    file_id = t["output"]["speech"]
    assert isinstance(file_id, int)
    audio = await page.send("GET", f"{V2}/tasks/{task['id']}/file/{file_id}?requesttoken=x")
    assert audio.status == 200 and audio.body[:4] == b"RIFF"

    resp = await page.send("DELETE", f"{V2}/task/{task['id']}", headers=FORWARDED)
    assert resp.status == 200
    gone = await get_task(page, task["id"])
    assert gone.status == 404  # pollTask: error.status === 404 -> 'task-not-found'


async def test_cancel_while_running(live: Any) -> None:
    page = await live.user("alice", **BROWSER)
    task = (await schedule(page, "core:text2text", {"input": "ncdev:hold"})).json()[
        "ocs"]["data"]["task"]
    await poll(lambda: get_task(page, task["id"]),
               lambda r: r.json()["ocs"]["data"]["task"]["status"] == "STATUS_RUNNING")
    resp = await page.send("POST", f"{V2}/tasks/{task['id']}/cancel", headers=FORWARDED,
                           json={})
    assert resp.status == 200
    t = resp.json()["ocs"]["data"]["task"]
    assert conform(t, TASK) == [] and t["status"] == "STATUS_CANCELLED"
    polled = (await get_task(page, task["id"])).json()["ocs"]["data"]["task"]
    assert polled["status"] == "STATUS_CANCELLED"  # pollTask stops: not scheduled/running


async def test_wrong_credentials_from_a_script_get_no_browser_prompt(live: Any) -> None:
    page = Client(live.base, {**BROWSER, **FORWARDED,
                              "Authorization": "Basic YWxpY2U6d3Jvbmc="})  # alice:wrong
    resp = await page.send("GET", f"{V2}/tasktypes")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'DummyBasic realm="Authorisation Required"'
