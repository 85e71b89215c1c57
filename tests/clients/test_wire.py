"""What Nextcloud 34 does to every request and response (shared/http/wire.py), over real HTTP:
merged slashes, API and security headers on the api and the fileproxy, X-Request-Id in the
logs, HEAD wherever GET, and path ids as 34 answers them. Each expectation is what
scripts/compare_nc34.py measured on a real 34.0.1."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from services.fileproxy.app import create_fileproxy_app
from shared.http.wire import API_HEADERS
from shared.logs import RequestIdFilter
from tests.clients.replay import Client, poll
from tests.support.live import Live
from tests.support.ocs import OCS_JSON, V2
from tests.support.rawhttp import raw_request


async def alice(live: Live) -> Client:
    return await live.user("alice", **OCS_JSON)


async def test_repeated_slashes_are_merged_not_redirected(live: Live) -> None:
    c = await alice(live)
    resp = await c.send("POST", "//ocs/v2.php//taskprocessing/schedule?format=json", json={
        "type": "core:text2text", "appId": "nk", "input": {"input": "slashes"}})
    assert resp.status == 200 and "Location" not in resp.headers  # body and auth kept
    task_id = resp.json()["ocs"]["data"]["task"]["id"]
    resp = await c.send("GET", f"///ocs//v2.php/taskprocessing//task/{task_id}?format=xml",
                        headers={"Accept": "application/json"})
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/xml")
    resp = await c.send("GET", "//ocs/v2.php/taskprocessing/tasks?taskType=core:text2text")
    assert [t["id"] for t in resp.json()["ocs"]["data"]["tasks"]] == [task_id]  # query kept
    resp = await c.send("GET", "//ocs/v2.php/taskprocessing/nonexistent")
    assert resp.json()["ocs"]["meta"]["statuscode"] == 998


def _assert_api_headers(headers: Any) -> None:
    for name, value in API_HEADERS.items():
        assert headers.get(name) == value, name
    assert len(headers["X-Request-Id"]) == 20 and headers["X-Request-Id"].isalnum()


@pytest.mark.parametrize(("who", "path", "status"), [
    ("alice", "/tasktypes", 200), ("none", "/tasktypes", 401), ("alice", "/nonexistent", 404),
    ("alice", "/task/999999", 404), ("csrf", "/tasktypes", 412)])
async def test_api_headers_on_every_answer(live: Live, who: str, path: str, status: int) -> None:
    c = await alice(live)
    headers = {"none": {"Authorization": ""}, "csrf": {"OCS-APIRequest": ""}}.get(who, {})
    resp = await c.send("GET", V2 + path, headers=headers)
    assert resp.status == status
    _assert_api_headers(resp.headers)
    if status == 200:
        assert resp.headers["X-User-Id"] == "alice"


async def test_fileproxy_answers_carry_them_too(aiohttp_server: Any, settings: Any,
                                                make_user: Any) -> None:
    server = await aiohttp_server(create_fileproxy_app(settings))
    headers = await make_user("alice") | {"Accept": "application/json"}
    for path in (f"{V2}/tasks/1/file/2", f"{V2}/tasks/abc/file/2"):
        resp = await raw_request(f"http://{server.host}:{server.port}", "GET", path, headers)
        assert resp.status == 404 and resp.json()["ocs"]["data"] == {"message": "Not found"}
        _assert_api_headers(resp.headers)


async def test_a_downloaded_file_gets_them(live: Live) -> None:
    c = await alice(live)
    task = (await c.send("POST", f"{V2}/schedule", json={
        "type": "core:text2speech", "appId": "x", "input": {"input": "hi"}})).json()[
        "ocs"]["data"]["task"]

    async def fetch() -> Any:
        return (await c.send("GET", f"{V2}/task/{task['id']}")).json()["ocs"]["data"]["task"]
    done = await poll(fetch, lambda t: t["status"] == "STATUS_SUCCESSFUL")
    for method in ("GET", "HEAD"):
        resp = await c.send(method, f"{V2}/tasks/{task['id']}/file/{done['output']['speech']}")
        assert resp.status == 200
        _assert_api_headers(resp.headers)


async def test_request_id_is_on_the_log_lines_of_that_request(
        live: Live, make_user: Any, redis: Any, keys: Any) -> None:
    from tests.support.exapp_auth import make_exapp_headers
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("taskproc.exapp")
    logger.addHandler(handler)
    try:
        exapp = await make_exapp_headers(redis, keys, "logger")
        resp = await raw_request(live.base, "POST", "/ocs/v1.php/apps/app_api/api/v1/log",
                                 exapp | {"Content-Type": "application/json"},
                                 b'{"level": 2, "message": "hello from the ExApp"}')
    finally:
        logger.removeHandler(handler)
    assert resp.status == 200
    assert [(r.getMessage(), r.request_id) for r in records] == [  # type: ignore[attr-defined]
        ("[logger] hello from the ExApp", resp.headers["X-Request-Id"])]


@pytest.mark.parametrize("path", ["/tasktypes", "/tasks", "/task/{id}"])
async def test_head_wherever_get(live: Live, path: str) -> None:
    c = await alice(live)
    task_id = (await c.send("POST", f"{V2}/schedule", json={
        "type": "core:text2text", "appId": "x", "input": {"input": "hi"}})).json()[
        "ocs"]["data"]["task"]["id"]
    await poll(lambda: c.send("GET", f"{V2}/task/{task_id}"),
               lambda r: r.json()["ocs"]["data"]["task"]["status"] == "STATUS_SUCCESSFUL")
    get = await c.send("GET", V2 + path.format(id=task_id))
    head = await c.send("HEAD", V2 + path.format(id=task_id))
    assert (head.status, head.body) == (200, b"")
    assert head.headers["Content-Length"] == get.headers["Content-Length"]


@pytest.mark.parametrize("raw", ["abc", "-1", "999999", "%D9%A2", "1.5", "0x1", "+1",
                                 "99999999999999999999999"])
async def test_ids_that_are_not_ascii_digits_get_34s_answers(live: Live, raw: str) -> None:
    c = await alice(live)
    await c.send("POST", f"{V2}/schedule", json={  # task 1 and 2 exist and are alice's
        "type": "core:text2text", "appId": "x", "input": {"input": "one"}})
    await c.send("POST", f"{V2}/schedule", json={
        "type": "core:text2text", "appId": "x", "input": {"input": "two"}})
    for method, path, message in [("GET", f"/task/{raw}", "Task not found"),
                                  ("POST", f"/tasks/{raw}/cancel", "Not found"),
                                  ("GET", f"/tasks/{raw}/file/1", "Not found"),
                                  ("GET", f"/tasks/1/file/{raw}", "Not found")]:
        resp = await c.send(method, V2 + path)
        assert resp.status == 404, (method, path)
        assert resp.json()["ocs"]["data"] == {"message": message}
    resp = await c.send("DELETE", f"{V2}/task/{raw}")
    assert (resp.status, resp.json()["ocs"]["data"]) == (200, None)


async def test_app_ids_with_braces_can_be_listed(live: Live) -> None:
    c = await alice(live)
    await c.send("POST", f"{V2}/schedule", json={
        "type": "core:text2text", "appId": "my{app}", "input": {"input": "x"}})
    for path in ("/tasks/app/my%7Bapp%7D", "/tasks/app/my{app}"):
        resp = await c.send("GET", V2 + path)
        assert [t["appId"] for t in resp.json()["ocs"]["data"]["tasks"]] == ["my{app}"]
