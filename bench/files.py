"""File download benchmark: the fileproxy against aiohttp's plain FileResponse, same run.

A 512 MiB file is served by both (separate processes on free loopback ports); the client
streams and discards it. Prints the median throughput of several runs and each server's peak
RSS (VmHWM), with ratios. Run: `python -m bench.files` (part of `make bench`).
"""

from __future__ import annotations

import asyncio
import base64
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bench.procs import free_port, median, private_redis, spawn, stop, wait_http
from shared.accounts import UserStore
from shared.filestore import FileStore
from shared.keys import Keys
from shared.store import TaskStore

SIZE_MIB, RUNS = 512, 5
V2 = "/ocs/v2.php/taskprocessing"


def _write_source(path: Path) -> None:
    block = bytes(range(256)) * 4096  # 1 MiB, not sparse: the page cache holds real data
    with open(path, "wb") as f:
        for _ in range(SIZE_MIB):
            f.write(block)


async def _seed(url: str, files_dir: Path, source: Path) -> tuple[str, dict[str, str]]:
    """A user, the file in the store, a task referencing it: (download path, headers)."""
    redis, keys = Redis.from_url(url), Keys()
    try:
        password = await UserStore(redis, keys).add("bench")
        rec = await FileStore(files_dir, redis, keys, 3600).put_path(
            source, owner="bench", name="big.bin", origin="upload")
        task = await TaskStore(redis, keys).schedule(
            task_type="core:audio2text", user_id="bench", app_id="bench", custom_id="",
            inputs={"input": rec.id}, webhook_uri=None, webhook_method=None,
            include_watermark=True, expected_runtime=10, file_ids=[rec.id])
    finally:
        await redis.aclose()
    token = base64.b64encode(f"bench:{password}".encode()).decode()
    return f"{V2}/tasks/{task.id}/file/{rec.id}", {"Authorization": f"Basic {token}"}


async def _download(url: str, headers: dict[str, str]) -> float:
    """MiB/s of one full download, streamed and discarded."""
    received, start = 0, time.perf_counter()
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        assert resp.status == 200, resp.status
        async for chunk in resp.content.iter_any():
            received += len(chunk)
    assert received == SIZE_MIB << 20
    return SIZE_MIB / (time.perf_counter() - start)


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _measure(targets: dict[str, tuple[str, dict[str, str]]]) -> dict[str, list[float]]:
    speeds: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(RUNS):  # interleaved, so drift in the machine hits both alike
        for name, (url, headers) in targets.items():
            speeds[name].append(await _download(url, headers))
    return speeds


async def run() -> None:
    with tempfile.TemporaryDirectory() as tmp_name, private_redis(Path(tmp_name)) as url:
        tmp = Path(tmp_name)
        _write_source(tmp / "source.bin")
        path, headers = await _seed(url, tmp / "files", tmp / "source.bin")
        fp_port, base_port = free_port(), free_port()
        proxy = spawn(["-m", "services.cli", "fileproxy"], {
            "TASKPROC_REDIS_URL": url, "TASKPROC_FILES_DIR": str(tmp / "files"),
            "TASKPROC_FILEPROXY_PORT": str(fp_port), "TASKPROC_LOG_LEVEL": "WARNING"})
        baseline = spawn(["-m", "bench.files", "--baseline", str(tmp / "source.bin"),
                          str(base_port)], {})
        try:
            wait_http(fp_port, "/healthz")
            wait_http(base_port, "/healthz")
            speeds = await _measure({
                "fileproxy": (f"http://127.0.0.1:{fp_port}{path}", headers),
                "FileResponse": (f"http://127.0.0.1:{base_port}/file", {})})
            peaks = {"fileproxy": _peak_mib(proxy.pid), "FileResponse": _peak_mib(baseline.pid)}
        finally:
            stop(proxy, baseline)
    _report(speeds, peaks)


def _report(speeds: dict[str, list[float]], peaks: dict[str, float]) -> None:
    med = {name: median(v) for name, v in speeds.items()}
    print(f"download of a {SIZE_MIB} MiB file, median of {RUNS} runs")
    print(f"{'server':<14}{'MiB/s':>10}{'peak RSS MiB':>15}")
    for name in speeds:
        print(f"{name:<14}{med[name]:>10.0f}{peaks[name]:>15.1f}")
    print(f"ratio fileproxy/FileResponse: throughput {med['fileproxy'] / med['FileResponse']:.2f}"
          f", peak RSS {peaks['fileproxy'] / peaks['FileResponse']:.2f}", flush=True)


def _serve_baseline(path: str, port: int) -> None:
    """The baseline: aiohttp's FileResponse (sendfile) for one file, nothing else."""
    async def file(request: web.Request) -> web.FileResponse:
        return web.FileResponse(path)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")
    app = web.Application()
    app.router.add_get("/file", file)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--baseline"]:
        _serve_baseline(sys.argv[2], int(sys.argv[3]))
    else:
        main()
