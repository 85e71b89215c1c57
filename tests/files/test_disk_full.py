"""An upload onto a full disk is a 507 with a clear message and leaves nothing behind.

The file store sits on a real 256 KiB tmpfs (mounting needs root: skipped without it, a failure
under CI, which runs as root)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.fileproxy.app import create_fileproxy_app
from shared.settings import Settings
from tests.support.ocs import V2


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs under CI: {done.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


async def test_upload_onto_a_full_disk_is_507(aiohttp_client: Any, settings: Settings,
                                              make_user: Any, tiny_disk: Path,
                                              redis: Any) -> None:
    proxy = await aiohttp_client(create_fileproxy_app(
        settings.model_copy(update={"files_dir": tiny_disk / "files"})))
    alice = await make_user("alice")
    resp = await proxy.post(f"{V2}/files?format=json", data=b"x" * (1024 * 1024),
                            headers=alice | {"X-File-Name": "big.bin"})
    assert resp.status == 507
    assert (await resp.json())["ocs"]["data"] == {
        "message": "Not enough storage space on the server to store the file"}
    assert [p for p in (tiny_disk / "files").rglob("*") if p.is_file()] == []
    assert await redis.keys("tp:file:*") == []
    small = await proxy.post(f"{V2}/files?format=json", data=b"fits",
                             headers=alice | {"X-File-Name": "small.txt"})
    assert small.status == 201
