"""A 1 GiB upload and download through a real fileproxy process, with its peak memory measured
(VmHWM in /proc): streaming must not grow the process with the file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.embedded import free_port
from tests.support.ocs import V2
from tests.support.processes import Processes, http_ready

SIZE = 1024 * 1024 * 1024
BLOCK = 1024 * 1024
PEAK_BOUND = 150 * 1024 * 1024


def peak_rss(pid: int) -> int:
    """The process's high-water mark of resident memory, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


@pytest.fixture
async def fileproxy_process(processes: Processes) -> tuple[str, int]:
    """`taskproc fileproxy` on a free port (stopped at teardown): its base URL and pid."""
    port = free_port()
    proc = await processes.start("services.cli", "fileproxy", ready=http_ready(port),
                                 TASKPROC_HOST="127.0.0.1", TASKPROC_FILEPROXY_PORT=str(port),
                                 TASKPROC_LOG_LEVEL="WARNING")
    return f"http://127.0.0.1:{port}", proc.pid


async def _body() -> AsyncIterator[bytes]:
    block = bytes(range(256)) * (BLOCK // 256)
    for _ in range(SIZE // BLOCK):
        yield block


async def test_large_upload_and_download_in_bounded_memory(
        fileproxy_process: tuple[str, int], make_user: Any, make_task: Any) -> None:
    base, pid = fileproxy_process
    alice = await make_user("alice")
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(base, timeout=timeout) as session:
        async with session.post(f"{V2}/files?format=json", data=_body(),
                                headers=alice | {"X-File-Name": "big.bin"}) as resp:
            assert resp.status == 201, await resp.text()
            fid = (await resp.json())["ocs"]["data"]["fileId"]
        after_upload = peak_rss(pid)
        tid = await make_task("alice", [fid])
        received = 0
        async with session.get(f"{V2}/tasks/{tid}/file/{fid}", headers=alice) as resp:
            assert resp.status == 200 and resp.content_length == SIZE
            async for chunk in resp.content.iter_chunked(BLOCK):
                received += len(chunk)
    assert received == SIZE
    peak = peak_rss(pid)
    print(f"fileproxy VmHWM after 1 GiB upload {after_upload >> 20} MiB, "
          f"after download {peak >> 20} MiB")
    assert after_upload < PEAK_BOUND and peak < PEAK_BOUND
