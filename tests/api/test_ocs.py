"""The OCS protocol over real HTTP: envelopes, formats, v1/v2, CSRF and auth rules."""

from __future__ import annotations

import io
from typing import Any

from tests.support.ocs import V1, V2, basic


async def test_unauthenticated_is_401_997_even_without_csrf_header(api: Any) -> None:
    resp = await api.get(f"{V2}/tasktypes?format=json")
    assert resp.status == 401
    body = await resp.json()
    assert body["ocs"]["meta"] == {"status": "failure", "statuscode": 997,
                                   "message": "Current user is not logged in"}
    assert body["ocs"]["data"] == []


async def test_missing_ocs_header_is_412_plain_json(api: Any, make_user: Any) -> None:
    headers = await make_user("alice")
    del headers["OCS-APIRequest"]
    resp = await api.get(f"{V2}/tasktypes?format=json", headers=headers)
    assert resp.status == 412
    assert await resp.json() == {"message": "CSRF check failed"}


async def test_bearer_token_passes_csrf_without_header(api: Any, make_user: Any,
                                                       redis: Any, keys: Any) -> None:
    from shared.accounts import UserStore
    await make_user("bob")
    token = await UserStore(redis, keys).new_token("bob")
    resp = await api.get(f"{V2}/tasktypes", headers={"Authorization": f"Bearer {token}",
                                                     "Accept": "application/json"})
    assert resp.status == 200
    assert (await resp.json())["ocs"]["meta"]["statuscode"] == 200


async def test_xml_is_the_default_format(api: Any, make_user: Any) -> None:
    resp = await api.get(f"{V2}/tasktypes", headers=await make_user("alice"))
    assert resp.status == 200
    assert resp.content_type == "application/xml"
    text = await resp.text()
    assert text.startswith('<?xml version="1.0"?>\n<ocs>\n <meta>\n  <status>ok</status>')
    assert "<statuscode>200</statuscode>" in text


async def test_accept_header_selects_json_and_format_param_wins(api: Any,
                                                                make_user: Any) -> None:
    headers = await make_user("alice") | {"Accept": "application/json"}
    resp = await api.get(f"{V2}/tasktypes", headers=headers)
    assert resp.content_type == "application/json"
    resp = await api.get(f"{V2}/tasktypes?format=xml", headers=headers)
    assert resp.content_type == "application/xml"


async def test_v1_answers_200_with_statuscode(api: Any, make_user: Any) -> None:
    headers = await make_user("alice")
    ok = await (await api.get(f"{V1}/tasktypes?format=json", headers=headers)).json()
    assert ok["ocs"]["meta"] == {"status": "ok", "statuscode": 100, "message": "OK",
                                 "totalitems": "", "itemsperpage": ""}
    resp = await api.get(f"{V1}/task/999?format=json", headers=headers)
    assert resp.status == 200
    body = await resp.json()
    assert body["ocs"]["meta"]["statuscode"] == 404
    assert body["ocs"]["meta"]["status"] == "failure"
    assert body["ocs"]["data"] == {"message": "Task not found"}


async def test_v1_unauthenticated_is_http_401(api: Any) -> None:
    resp = await api.get(f"{V1}/tasktypes?format=json")
    assert resp.status == 401
    assert (await resp.json())["ocs"]["meta"]["statuscode"] == 997


async def test_error_message_in_data_and_meta_message_empty(api: Any, make_user: Any) -> None:
    resp = await api.get(f"{V2}/task/12345?format=json", headers=await make_user("alice"))
    assert resp.status == 404
    body = await resp.json()
    assert body["ocs"]["meta"] == {"status": "failure", "statuscode": 404, "message": ""}
    assert body["ocs"]["data"] == {"message": "Task not found"}


async def test_wrong_password_is_401_and_failed_logins_are_throttled(api: Any,
                                                                     make_user: Any) -> None:
    await make_user("alice")
    statuses = []
    for _ in range(12):
        resp = await api.get(f"{V2}/tasktypes?format=json", headers=basic("alice", "nope"))
        statuses.append(resp.status)
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]


async def test_capabilities_and_current_user(api: Any, make_user: Any) -> None:
    headers = await make_user("alice")
    caps = await (await api.get("/ocs/v1.php/cloud/capabilities?format=json",
                                headers=headers)).json()
    assert caps["ocs"]["data"]["version"]["major"] == 33
    me = await (await api.get("/ocs/v2.php/cloud/user?format=json", headers=headers)).json()
    assert me["ocs"]["data"]["id"] == "alice"


async def test_unknown_ocs_route_is_ocs_404(api: Any, make_user: Any) -> None:
    resp = await api.get(f"{V2}/nope?format=json", headers=await make_user("alice"))
    assert resp.status == 404
    assert (await resp.json())["ocs"]["meta"]["statuscode"] == 998


async def test_body_size_is_bounded(api: Any, make_user: Any) -> None:
    headers = await make_user("alice") | {"Content-Type": "application/json"}
    big = b'{"input": {"input": "' + b"x" * (11 * 1024 * 1024) + b'"}}'
    resp = await api.post(f"{V2}/schedule?format=json", data=io.BytesIO(big), headers=headers)
    assert resp.status == 413
