"""A per-user cap on stored upload bytes (issue 11 item 7): past it an upload is a 507 and
leaves nothing; deleting files frees the room again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from services.fileproxy.app import create_fileproxy_app
from shared.filestore import FileStore
from shared.settings import Settings
from tests.support.ocs import V2

KIB = 1024


async def _chunks(total: int) -> AsyncIterator[bytes]:
    for _ in range(total // KIB):
        yield b"y" * KIB


async def test_uploads_past_the_users_quota_are_507(aiohttp_client: Any, settings: Settings,
                                                    make_user: Any, redis: Any,
                                                    keys: Any) -> None:
    proxy = await aiohttp_client(create_fileproxy_app(
        settings.model_copy(update={"max_user_bytes": 10 * KIB})))
    alice, bob = await make_user("alice"), await make_user("bob")

    async def upload(headers: dict[str, str], data: Any) -> Any:
        return await proxy.post(f"{V2}/files?format=json", data=data,
                                headers=headers | {"X-File-Name": "f.bin"})
    first = await upload(alice, b"x" * (6 * KIB))
    assert first.status == 201
    for body in (b"x" * (6 * KIB), _chunks(6 * KIB)):  # declared length, then chunked
        resp = await upload(alice, body)
        assert resp.status == 507
        assert (await resp.json())["ocs"]["data"] == {
            "message": "The upload would exceed your storage quota"}
    assert int(await redis.get(keys.user_bytes("alice"))) == 6 * KIB
    assert (await upload(bob, b"x" * (6 * KIB))).status == 201
    fid = (await first.json())["ocs"]["data"]["fileId"]
    await FileStore(settings.files_dir, redis, keys, 60).delete([fid])
    assert (await upload(alice, b"x" * (6 * KIB))).status == 201
