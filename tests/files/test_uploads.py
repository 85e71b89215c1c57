"""Uploads: multipart and raw, the size cap, cut-off uploads, and file slots in /schedule."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.fileproxy.app import create_fileproxy_app
from shared.settings import Settings
from tests.support.ocs import V2, form, upload

CAP = 1024 * 1024


def stored(root: Path) -> list[Path]:
    """Every file under the store (temporary ones included)."""
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def nothing_stored(settings: Settings, redis: Any) -> bool:
    return not stored(settings.files_dir) and await redis.keys("tp:file*") == []


@pytest.fixture
async def small(aiohttp_client: Any, settings: Settings) -> Any:
    """A fileproxy with a 1 MiB upload cap."""
    capped = settings.model_copy(update={"max_upload_bytes": CAP})
    return await aiohttp_client(create_fileproxy_app(capped))


async def test_raw_and_multipart_uploads_keep_name_owner_and_digest(
        proxy: Any, make_user: Any, redis: Any, provider_headers: Any, make_task: Any) -> None:
    alice = await make_user("alice")
    fid = await upload(proxy, alice, b"abc", "Über.txt")
    meta = {k.decode(): v.decode() for k, v in (await redis.hgetall(f"tp:file:{fid}")).items()}
    assert meta["owner"] == "alice" and meta["name"] == "Über.txt" and meta["size"] == "3"
    assert meta["sha256"].startswith("ba7816bf") and meta["origin"] == "upload"
    resp = await proxy.post(f"{V2}/files?format=json", data=form(b"m", "photo.jpg"),
                            headers=alice)
    mid = (await resp.json())["ocs"]["data"]["fileId"]
    assert (await redis.hget(f"tp:file:{mid}", "name")) == b"photo.jpg"
    resp = await proxy.post(f"{V2}/files?format=json", data=b"d", headers=alice | {
        "Content-Disposition": 'attachment; filename="from-cd.txt"'})
    did = (await resp.json())["ocs"]["data"]["fileId"]
    assert (await redis.hget(f"tp:file:{did}", "name")) == b"from-cd.txt"
    tid = await make_task("alice", [fid])
    resp = await proxy.post(f"{V2}/tasks_provider/{tid}/file?format=json",
                            data=form(b"out", "speech.wav"), headers=provider_headers)
    oid = (await resp.json())["ocs"]["data"]["fileId"]
    assert (await redis.hget(f"tp:file:{oid}", "origin")) == b"output"


async def test_empty_raw_body_is_400(proxy: Any, make_user: Any) -> None:
    resp = await proxy.post(f"{V2}/files?format=json", headers=await make_user("alice"))
    assert resp.status == 400


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


@pytest.mark.parametrize("body", ["raw", "chunked", "multipart"])
async def test_oversized_upload_is_413_and_leaves_nothing(
        small: Any, make_user: Any, settings: Settings, redis: Any, body: str) -> None:
    alice = await make_user("alice")
    data: Any = {"raw": io.BytesIO(b"x" * (CAP + 1)), "chunked": _chunks(3 * CAP),
                 "multipart": form(b"x" * (2 * CAP))}[body]
    resp = await small.post(f"{V2}/files?format=json", data=data, headers=alice)
    assert resp.status == 413
    assert "larger than" in (await resp.json())["ocs"]["data"]["message"]
    assert await nothing_stored(settings, redis)
    resp = await small.post(f"{V2}/files?format=json", data=io.BytesIO(b"x" * CAP),
                            headers=alice)
    assert resp.status == 201  # exactly the cap is fine


async def _until(predicate: Any, limit: float = 10.0) -> None:
    """Wait for a condition the server reaches on its own (a file appears or goes): the
    filesystem has no event to await, so poll it."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("multipart", [False, True])
async def test_interrupted_upload_leaves_nothing(
        proxy: Any, make_user: Any, settings: Settings, redis: Any, multipart: bool) -> None:
    alice = await make_user("alice")
    _reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    head = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n"
            if multipart else b"")
    ctype = b"multipart/form-data; boundary=b" if multipart else b"application/octet-stream"
    writer.write(b"POST " + V2.encode() + b"/files HTTP/1.1\r\nHost: x\r\nAuthorization: "
                 + alice["Authorization"].encode() + b"\r\nOCS-APIRequest: true\r\n"
                 b"Content-Type: " + ctype + b"\r\nContent-Length: 10000000\r\n\r\n" + head)
    writer.write(b"y" * (2 * 1024 * 1024))
    await writer.drain()
    await _until(lambda: any(p.stat().st_size > 0 for p in stored(settings.files_dir)))
    writer.close()
    await writer.wait_closed()
    await _until(lambda: not stored(settings.files_dir))
    assert await nothing_stored(settings, redis)


async def test_schedule_file_slots(one_url: Any, make_user: Any, redis: Any, keys: Any) -> None:
    from shared.registry import ProviderRegistry
    from tests.support.providers import EchoProvider
    await ProviderRegistry(redis, keys).register(
        EchoProvider("core:analyze-images", "test:img").spec, 60)
    alice, bob = await make_user("alice"), await make_user("bob")
    mine = [await upload(one_url, alice, b"\x89PNG\r\n\x1a\n" + bytes(8)) for _ in range(2)]
    theirs = await upload(one_url, bob, b"bob's")

    async def schedule(images: Any) -> Any:
        return await one_url.post(f"{V2}/schedule?format=json", headers=alice, json={
            "type": "core:analyze-images", "appId": "t",
            "input": {"images": images, "input": "what is it?"}})
    resp = await schedule([mine[0], 424242])
    assert resp.status == 400
    assert (await resp.json())["ocs"]["data"] == {"message": "Could not find file 424242"}
    resp = await schedule([mine[0], theirs])
    assert resp.status == 401
    assert (await resp.json())["ocs"]["data"] == {
        "message": "User does not have access to the files mentioned in the task input"}
    resp = await schedule(mine)
    assert resp.status == 200, await resp.text()
    tid = (await resp.json())["ocs"]["data"]["task"]["id"]
    assert await redis.zscore("tp:files:unreferenced", str(mine[0])) is None
    got = await one_url.get(f"{V2}/tasks/{tid}/file/{mine[1]}", headers=alice)
    assert got.status == 200 and (await got.read()).startswith(b"\x89PNG")
