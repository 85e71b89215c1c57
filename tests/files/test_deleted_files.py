"""Nothing left behind: the api (no files volume, its own empty files dir) deletes tasks whose
input and output bytes live in the store that only the fileproxy and the dispatcher mount, as in
compose and the chart. Every byte of them goes: outputs through the purge queue, the upload when
its unreferenced TTL passes."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.embedded import free_port
from shared.settings import Settings
from tests.support.ocs import V2
from tests.support.waits import answers_ok, ready_line, until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
Start = Callable[..., Awaitable[None]]


@pytest.fixture
async def start(settings: Settings) -> AsyncIterator[Start]:
    """`await start(module, *argv, files_dir=..., url=readiness URL or "")`; killed at teardown."""
    procs: list[asyncio.subprocess.Process] = []
    env = dict(os.environ, PYTHONPATH=ROOT, TASKPROC_REDIS_URL=settings.redis_url,
               TASKPROC_DISPATCHER_METRICS_PORT="-1", TASKPROC_UPLOAD_TTL_SECONDS="5",
               TASKPROC_HOUSEKEEPING_INTERVAL_SECONDS="1", TASKPROC_PROVIDER_HEARTBEAT_SECONDS="1")

    async def run(*argv: str, files_dir: Path, url: str = "", **extra: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", *argv, cwd=ROOT,
            env=env | extra | {"TASKPROC_FILES_DIR": str(files_dir)},
            stderr=asyncio.subprocess.DEVNULL if url else asyncio.subprocess.PIPE)
        procs.append(proc)
        if url:
            await until(lambda: answers_ok(url), timeout=30, interval=0.1)
        else:
            await ready_line(proc)
            assert proc.stderr is not None
            procs_drains.append(asyncio.create_task(proc.stderr.read()))

    procs_drains: list[asyncio.Task[bytes]] = []
    yield run
    for p in procs:
        if p.returncode is None:
            p.kill()
            await p.wait()
    await asyncio.gather(*procs_drains, return_exceptions=True)


def stored(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"]


async def _finished(s: aiohttp.ClientSession, api: str, tid: int) -> dict[str, Any]:
    task: dict[str, Any] = {}

    async def done() -> bool:
        nonlocal task
        async with s.get(f"{api}{V2}/task/{tid}?format=json") as r:
            task = (await r.json())["ocs"]["data"]["task"]
        return task["status"] in ("STATUS_SUCCESSFUL", "STATUS_FAILED")

    await until(done, timeout=30, interval=0.1)
    assert task["status"] == "STATUS_SUCCESSFUL", task
    return task


async def test_deleting_tasks_through_an_api_without_the_store_leaves_no_bytes(
        start: Start, make_user: Any, tmp_path: Path) -> None:
    store, api_view = tmp_path / "store", tmp_path / "api-view"
    store.mkdir()
    api_view.mkdir()
    api, proxy = free_port(), free_port()
    await start("services.cli", "api", files_dir=api_view, url=f"http://127.0.0.1:{api}/readyz",
                TASKPROC_API_PORT=str(api))
    await start("services.cli", "fileproxy", files_dir=store,
                url=f"http://127.0.0.1:{proxy}/readyz", TASKPROC_FILEPROXY_PORT=str(proxy))
    await start("tests.support.run_dispatcher", "images", "transcribe", files_dir=store,
                TEST_WORKDIR=str(tmp_path))
    api_url, proxy_url = f"http://127.0.0.1:{api}", f"http://127.0.0.1:{proxy}"
    async with aiohttp.ClientSession(headers=await make_user("alice")) as s:
        form = aiohttp.FormData()
        form.add_field("file", b"spoken words", filename="talk.wav")
        async with s.post(f"{proxy_url}{V2}/files?format=json", data=form) as r:
            assert r.status == 201, await r.text()
            upload = (await r.json())["ocs"]["data"]["fileId"]
        ids = []
        for body in ({"type": "core:audio2text", "input": {"input": upload}},
                     {"type": "core:text2image", "input": {"input": "cat", "numberOfImages": 1}}):
            async with s.post(f"{api_url}{V2}/schedule?format=json",
                              json=body | {"appId": "t"}) as r:
                assert r.status == 200, await r.text()
                ids.append((await r.json())["ocs"]["data"]["task"]["id"])
        images = (await _finished(s, api_url, ids[1]))["output"]["images"]
        await _finished(s, api_url, ids[0])
        assert len(stored(store)) == 1 + len(images) == 4  # the upload and three outputs
        assert stored(api_view) == []
        for tid in ids:
            async with s.delete(f"{api_url}{V2}/task/{tid}?format=json") as r:
                assert r.status == 200, await r.text()
    await until(lambda: _empty(store), timeout=30, interval=0.2)


async def _empty(root: Path) -> bool:
    return stored(root) == []
