"""Redis outages for tests: a private Redis that can be killed, restarted and frozen, and a
bounded wait for the status a server in another process answers (roles are started with
tests.support.processes)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import aiohttp

from services.embedded import EmbeddedRedis, free_port


class RestartableRedis:
    """A private redis-server with AOF on a fixed free port: `kill()` (SIGKILL), `start()`
    again on the same port and data, `pause()`/`resume()` (SIGSTOP/SIGCONT)."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.server: EmbeddedRedis | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RestartableRedis:
        self.server = EmbeddedRedis(self.root, port=self.port, persistent=True).start()
        return self

    def _proc(self) -> subprocess.Popen[bytes]:
        assert self.server is not None and self.server.proc is not None
        return self.server.proc

    def kill(self) -> None:
        self._proc().kill()
        self._proc().wait()

    def pause(self) -> None:
        self._proc().send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._proc().send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.server is not None and self.server.proc is not None:
            if self.server.proc.poll() is None:
                self.resume()
            self.server.stop()


async def http_status(url: str, wanted: int, timeout: float = 30.0) -> None:
    """Bounded poll until GET url answers `wanted` (a server in another process)."""
    async with aiohttp.ClientSession() as http, asyncio.timeout(timeout):
        while True:
            try:
                async with http.get(url) as resp:
                    if resp.status == wanted:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
