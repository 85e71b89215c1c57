"""Answers as Nextcloud 34.0.1 gives them (measured with scripts/compare_nc34.py): sign-in
messages and challenges, AppAPI's 401 beside core's 412, capabilities and user fields, task
numbers in JSON and XML, and the task types' wording and isInternal."""

from __future__ import annotations

import base64
import json
from importlib import resources
from typing import Any

import pytest

from tests.clients.replay import Client, poll
from tests.support.exapp_auth import exapp_headers
from tests.support.live import Live
from tests.support.ocs import OCS_JSON, V2

CHALLENGE = 'Basic realm="Authorisation Required"'


def basic(login: str, password: str) -> dict[str, str]:
    return OCS_JSON | {"Authorization": "Basic " + base64.b64encode(
        f"{login}:{password}".encode()).decode()}


async def password_of(live: Live, uid: str) -> str:
    c = await live.user(uid)
    return base64.b64decode(c.headers["Authorization"].split()[1]).decode().split(":", 1)[1]


async def test_login_names_are_case_insensitive(live: Live) -> None:
    pw = await password_of(live, "alice")
    for login in ("ALICE", "Alice", "alice"):
        resp = await Client(live.base, basic(login, pw)).send("GET", "/ocs/v2.php/cloud/user")
        assert resp.status == 200 and resp.json()["ocs"]["data"]["id"] == "alice"


@pytest.mark.parametrize(("auth", "message", "challenge"), [
    (None, "Current user is not logged in", None),
    ("Basic !!!not-base64", "Current user is not logged in", None),
    ("Bearer not-a-token", "Current user is not logged in", None),
    ("alice:wrong", "Unauthorised", CHALLENGE),
    ("nobody:wrong", "Unauthorised", CHALLENGE)])
async def test_401_messages_and_challenge_per_case(live: Live, auth: str | None, message: str,
                                                   challenge: str | None) -> None:
    await live.user("alice")
    headers = dict(OCS_JSON)
    if auth and ":" in auth and " " not in auth:
        headers = basic(*auth.split(":"))
    elif auth:
        headers["Authorization"] = auth
    for path in (f"{V2}/tasktypes", "/ocs/v1.php/taskprocessing/tasktypes"):
        resp = await Client(live.base, headers).send("GET", path)
        meta = resp.json()["ocs"]["meta"]
        assert (resp.status, meta["statuscode"], meta["message"]) == (401, 997, message)
        assert resp.headers.get("WWW-Authenticate") == challenge


async def test_failed_logins_are_still_throttled(live: Live) -> None:
    pw = await password_of(live, "alice")
    wrong = Client(live.base, basic("alice", "wrong"))
    statuses = [(await wrong.send("GET", f"{V2}/tasktypes")).status for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    resp = await Client(live.base, basic("alice", pw)).send("GET", f"{V2}/tasktypes")
    assert resp.status == 429  # the address is throttled, valid credentials included


@pytest.mark.parametrize("who", ["none", "user", "wrong_secret"])
async def test_appapi_routes_401_while_core_exapp_routes_412(live: Live, redis: Any, keys: Any,
                                                             who: str) -> None:
    headers = {"none": OCS_JSON, "user": (await live.user("bob", **OCS_JSON)).headers,
               "wrong_secret": exapp_headers("ghost", "nope") | OCS_JSON}[who]
    c = Client(live.base, headers)
    for v in ("v1", "v2"):
        resp = await c.send("POST", f"/ocs/{v}.php/apps/app_api/api/v1/ai_provider/"
                                    "task_processing", json={"provider": {}})
        meta = resp.json()["ocs"]["meta"]
        assert (resp.status, meta["statuscode"], meta["message"]) == (
            401, 997, "AppAPI authentication failed")
    resp = await c.send("GET", f"{V2}/tasks_provider/next?providerIds[]=x&taskTypeIds[]=y")
    assert (resp.status, resp.json()) == (412, {"message": "ExApp required"})


async def test_capabilities_and_user_carry_what_clients_read(live: Live) -> None:
    c = await live.user("alice", **OCS_JSON)
    data = (await c.send("GET", "/ocs/v1.php/cloud/capabilities")).json()["ocs"]["data"]
    assert set(data["version"]) == {"major", "minor", "micro", "string", "edition",
                                    "extendedSupport"}
    caps = data["capabilities"]
    assert isinstance(caps["app_api"]["loglevel"], int)  # nc_py_api's nc.log() compares it
    assert caps["core"]["webdav-root"] == "remote.php/webdav"
    anonymous = (await Client(live.base, OCS_JSON).send(
        "GET", "/ocs/v2.php/cloud/capabilities")).json()["ocs"]["data"]["capabilities"]
    assert "core" not in anonymous and set(anonymous["app_api"]) == {"version"}  # as 34
    user = (await c.send("GET", "/ocs/v1.php/cloud/user")).json()["ocs"]["data"]
    assert user["id"] == "alice" and user["display-name"] == user["displayname"] == "alice"
    assert set(user["quota"]) == {"free", "used", "total", "relative", "quota"}
    assert {"email", "groups", "language", "locale", "backendCapabilities"} <= set(user)
    assert isinstance(user["lastLoginTimestamp"], int) and user["lastLogin"] >= user[
        "firstLoginTimestamp"]


async def test_task_numbers_as_34_writes_them(live: Live) -> None:
    c = await live.user("alice", **OCS_JSON)
    scheduled = (await c.send("POST", f"{V2}/schedule", json={
        "type": "core:text2text", "appId": "x", "input": {"input": "ncdev:hold"}})).json()
    task = scheduled["ocs"]["data"]["task"]
    assert task["progress"] is None and task["startedAt"] is None  # 34's schedule answer

    async def get(fmt: str) -> Any:
        return await c.send("GET", f"{V2}/task/{task['id']}?format={fmt}")
    first = (await get("json")).json()["ocs"]["data"]["task"]
    assert first["status"] in ("STATUS_SCHEDULED", "STATUS_RUNNING")
    assert first["progress"] in (0, 0.5) and not isinstance(first["progress"], bool)
    running = await poll(lambda: get("json"), lambda r: b'"progress":0.5' in r.body)
    assert b'"STATUS_RUNNING"' in running.body and b'"startedAt":null' not in running.body
    live.hold.set()
    done = await poll(lambda: get("json"), lambda r: b'"STATUS_SUCCESSFUL"' in r.body)
    assert b'"progress":1,' in done.body and b'"progress":1.0' not in done.body
    assert b"<progress>1</progress>" in (await get("xml")).body


async def test_task_types_word_for_word_and_internal_as_34(live: Live) -> None:
    c = await live.user("alice", **OCS_JSON)
    types = (await c.send("GET", f"{V2}/tasktypes")).json()["ocs"]["data"]["types"]
    nc34 = json.loads(resources.files("shared").joinpath("nc34_tasktypes.json").read_text())
    for tid in ("core:text2text", "core:text2text:headline", "core:text2text:topics",
                "core:text2text:summary", "core:text2speech", "core:text2text:translate"):
        t = types[tid]
        assert (t["name"], t["description"], t["isInternal"]) == (
            nc34[tid]["name"], nc34[tid]["description"], False)
        assert t["inputShape"] == nc34[tid]["inputShape"], tid
    assert types["core:text2text:headline"]["name"] == "Generate a headline"
    from shared.shapes import CORE_TASK_TYPES
    internal = sorted(k for k, v in CORE_TASK_TYPES.items() if v.is_internal and k in nc34)
    assert internal == ["core:audio2audio:chat", "core:contextagent:audio-interaction",
                        "core:contextagent:interaction", "core:text2text:chatwithtools"]
    for public in ("headline", "topics", "formalization", "simplification", "reformulation"):
        assert not CORE_TASK_TYPES[f"core:text2text:{public}"].is_internal  # Assistant shows


async def test_whole_number_defaults_are_written_as_34_writes_them(live: Live, redis: Any,
                                                                    keys: Any) -> None:
    from shared.accounts import ExAppStore
    secret = await ExAppStore(redis, keys).add("llm2")
    provider = {"id": "llm2:chat", "name": "LLM2", "task_type": "core:text2text:chat",
                "expected_runtime": 30,
                "optional_input_shape": [{"name": "max_tokens", "description": "Max",
                                          "shape_type": 0}],
                "optional_input_shape_defaults": {"max_tokens": 1024.0}}
    ex = Client(live.base, exapp_headers("llm2", secret) | OCS_JSON)
    resp = await ex.send("POST", "/ocs/v1.php/apps/app_api/api/v1/ai_provider/task_processing",
                         json={"provider": provider, "customTaskType": None})
    assert resp.status == 200
    body = (await (await live.user("alice", **OCS_JSON)).send("GET", f"{V2}/tasktypes")).body
    assert b'"optionalInputShapeDefaults":{"max_tokens":1024}' in body
