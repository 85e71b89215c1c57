"""Who may use which file route: owner, another user, a guest, a provider (ExApp)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.ocs import V1, V2, form, upload

AUDIO = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32)


@pytest.fixture
async def world(proxy: Any, make_user: Any, make_task: Any,
                provider_headers: dict[str, str]) -> dict[str, Any]:
    alice, bob = await make_user("alice"), await make_user("bob")
    fid = await upload(proxy, alice, AUDIO, "voice.wav")
    tid = await make_task("alice", [fid])
    return {"owner": alice, "other": bob, "guest": {"OCS-APIRequest": "true"},
            "provider": provider_headers, "fid": fid, "tid": tid}


def who(world: dict[str, Any], role: str) -> dict[str, str]:
    headers: dict[str, str] = world[role]
    return headers


USER_DOWNLOAD = {"owner": 200, "other": 404, "guest": 401, "provider": 404}
PROVIDER_ROUTE = {"owner": 412, "other": 412, "guest": 412, "provider": 200}


@pytest.mark.parametrize("role", list(USER_DOWNLOAD))
@pytest.mark.parametrize("path", ["tasks/{tid}/file/{fid}", "task/{tid}/file/{fid}"])
async def test_user_download(proxy: Any, world: dict[str, Any], role: str, path: str) -> None:
    url = f"{V2}/" + path.format(**world) + "?format=json"
    resp = await proxy.get(url, headers=who(world, role))
    assert resp.status == USER_DOWNLOAD[role]
    if resp.status == 200:
        assert await resp.read() == AUDIO
    elif resp.status == 404:
        assert (await resp.json())["ocs"]["data"] == {"message": "Not found"}
    else:
        assert (await resp.json())["ocs"]["meta"]["statuscode"] == 997


@pytest.mark.parametrize("role", list(PROVIDER_ROUTE))
async def test_provider_download(proxy: Any, world: dict[str, Any], role: str) -> None:
    resp = await proxy.get(f"{V2}/tasks_provider/{world['tid']}/file/{world['fid']}",
                           headers=who(world, role))
    assert resp.status == PROVIDER_ROUTE[role]
    if role == "provider":
        assert await resp.read() == AUDIO
    else:
        assert await resp.json() == {"message": "ExApp required"}


@pytest.mark.parametrize("role", list(PROVIDER_ROUTE))
async def test_provider_upload(proxy: Any, world: dict[str, Any], role: str) -> None:
    resp = await proxy.post(f"{V2}/tasks_provider/{world['tid']}/file?format=json",
                            data=form(b"output bytes"), headers=who(world, role))
    expected = 201 if role == "provider" else PROVIDER_ROUTE[role]
    assert resp.status == expected
    if expected == 201:
        assert set((await resp.json())["ocs"]["data"]) == {"fileId"}


@pytest.mark.parametrize(("role", "status"), [("owner", 201), ("other", 201), ("guest", 401),
                                              ("provider", 401)])
async def test_user_upload(proxy: Any, world: dict[str, Any], role: str, status: int) -> None:
    resp = await proxy.post(f"{V2}/files?format=json", data=b"x", headers=who(world, role))
    assert resp.status == status


async def test_download_needs_no_ocs_header(proxy: Any, world: dict[str, Any]) -> None:
    headers = {"Authorization": world["owner"]["Authorization"]}
    resp = await proxy.get(f"{V2}/tasks/{world['tid']}/file/{world['fid']}", headers=headers)
    assert resp.status == 200
    resp = await proxy.post(f"{V2}/files", data=b"x", headers=headers)
    assert resp.status == 412 and await resp.json() == {"message": "CSRF check failed"}


async def test_only_files_the_task_references(proxy: Any, world: dict[str, Any],
                                              make_task: Any) -> None:
    other_fid = await upload(proxy, world["owner"], b"not in the task")
    for path in (f"tasks/{world['tid']}/file/{other_fid}", f"tasks/999/file/{world['fid']}",
                 f"tasks_provider/{world['tid']}/file/{other_fid}",
                 f"tasks_provider/999/file/{world['fid']}"):
        role = "provider" if path.startswith("tasks_provider") else "owner"
        resp = await proxy.get(f"{V2}/{path}?format=json", headers=who(world, role))
        assert resp.status == 404, path
    resp = await proxy.post(f"{V2}/tasks_provider/999/file?format=json",
                            data=form(b"x"), headers=world["provider"])
    assert resp.status == 404


async def test_v1_prefix_and_envelopes(proxy: Any, world: dict[str, Any]) -> None:
    resp = await proxy.get(f"{V1}/tasks/{world['tid']}/file/{world['fid']}",
                           headers=world["owner"])
    assert resp.status == 200 and await resp.read() == AUDIO
    resp = await proxy.get(f"{V1}/tasks/{world['tid']}/file/999?format=json",
                           headers=world["owner"])
    body = await resp.json()
    assert resp.status == 200 and body["ocs"]["meta"]["statuscode"] == 404
    resp = await proxy.get(f"{V2}/tasks/{world['tid']}/file/999", headers=world["owner"])
    assert resp.status == 404 and "<message>Not found</message>" in await resp.text()
    resp = await proxy.post(f"{V1}/files?format=json", data=b"v1", headers=world["owner"])
    body = await resp.json()  # Nextcloud's v1 reports any status but 200 as "failure"
    assert resp.status == 200 and body["ocs"]["meta"]["statuscode"] == 201
    assert body["ocs"]["data"]["fileId"] > world["fid"]


async def test_provider_upload_needs_the_file_field(proxy: Any, world: dict[str, Any]) -> None:
    url = f"{V2}/tasks_provider/{world['tid']}/file?format=json"
    for data in (form(b"x", field="other"), b"raw body"):
        resp = await proxy.post(url, data=data, headers=world["provider"])
        assert resp.status == 400
        assert (await resp.json())["ocs"]["data"] == {"message": "Bad request"}


async def test_health(proxy: Any) -> None:
    assert (await proxy.get("/healthz")).status == 200
    assert (await proxy.get("/readyz")).status == 200
