"""Real processes for Redis outage tests: a Redis that can be killed, restarted and frozen,
and role processes whose stderr goes to a file the test reads afterwards."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from services.embedded import EmbeddedRedis, free_port, stop_processes

ROOT = Path(__file__).resolve().parents[2]


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


class Roles:
    """Role processes (`python -m <module> …`) with the given environment; stderr of each goes
    to `<root>/<name>.log`. `stop()` ends every one that still runs."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), **env)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *argv: str, **env: str) -> subprocess.Popen[bytes]:
        with open(self.root / f"{name}.log", "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT,
                                    env=self.env | env, stdout=subprocess.DEVNULL, stderr=log)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    async def wait_log(self, name: str, marker: str, timeout: float = 30.0) -> None:
        """Bounded poll of the process's log (it lives in another process)."""
        async with asyncio.timeout(timeout):
            while marker not in self.log(name):
                assert self.procs[name].poll() is None, f"{name} exited:\n{self.log(name)}"
                await asyncio.sleep(0.05)

    def stop(self, *names: str) -> None:
        stop_processes(*(self.procs[n] for n in names or list(self.procs)))


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
