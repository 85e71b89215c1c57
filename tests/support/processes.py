"""Real role processes for tests: start one, wait until it is ready, drain its output, stop it.

    procs = Processes(settings)              # or the `processes` fixture, stopped at teardown
    api = await procs.start("services.cli", "api", ready=http_ready(port),
                            TASKPROC_API_PORT=str(port))
    worker = await procs.start("tests.support.run_dispatcher", "echo")  # ready line on stderr
    await worker.stop()                      # SIGTERM, then SIGKILL after `grace` seconds

Every child's stderr is read to the end in the background (a full pipe would block it) and its
last lines are kept for the message of a failed start.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from shared.settings import Settings
from tests.support.waits import answers_ok

ROOT = Path(__file__).resolve().parents[2]
DISPATCHER_READY = b"ready with providers"
"""The line a dispatcher logs once it takes work."""

Ready = Callable[["RoleProcess"], Awaitable[bool]]


def role_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that points a child at this test's Redis and file store."""
    return dict(os.environ, PYTHONPATH=str(ROOT), TASKPROC_REDIS_URL=settings.redis_url,
                TASKPROC_FILES_DIR=str(settings.files_dir), **extra)


def http_ready(port: int, path: str = "/readyz") -> Ready:
    """Ready once `GET http://127.0.0.1:{port}{path}` answers 200."""
    async def check(proc: RoleProcess) -> bool:
        return await answers_ok(f"http://127.0.0.1:{port}{path}", {"OCS-APIRequest": "true"})
    return check


def line_ready(marker: bytes = DISPATCHER_READY) -> Ready:
    """Ready once the child wrote a stderr line containing `marker`."""
    async def check(proc: RoleProcess) -> bool:
        return any(marker in line for line in proc.lines)
    return check


class RoleProcess:
    """One child process and the task draining its stderr."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc, self.name = proc, name
        self.lines: collections.deque[bytes] = collections.deque(maxlen=200)
        self.changed = asyncio.Event()
        self._drain = asyncio.create_task(self._read())

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.lines.append(line)
            self.changed.set()
        self.changed.set()

    async def wait_ready(self, ready: Ready, timeout: float = 30.0) -> None:
        """Poll `ready` (bounded) until it holds; fail at once if the child exits."""
        try:
            async with asyncio.timeout(timeout):
                while not await ready(self):
                    if self.proc.returncode is not None or self._drain.done():
                        raise AssertionError(f"{self.name} exited before it was ready")
                    self.changed.clear()  # woken by output, else re-checked every 50 ms
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.05):
                            await self.changed.wait()
        except (AssertionError, TimeoutError) as exc:
            tail = b"".join(self.lines).decode(errors="replace")[-3000:]
            raise AssertionError(f"{self.name} not ready: {exc!r}\n{tail}") from exc

    def send_signal(self, sig: int) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)

    async def wait(self, timeout: float = 20.0) -> int:
        async with asyncio.timeout(timeout):
            return await self.proc.wait()

    async def stop(self, sig: int = signal.SIGTERM, grace: float = 20.0) -> int:
        """Signal the child, wait up to `grace` seconds, then kill it; its exit code."""
        self.send_signal(sig)
        try:
            code = await self.wait(grace)
        except TimeoutError:
            self.proc.kill()
            code = await self.proc.wait()
        with contextlib.suppress(TimeoutError):  # a grandchild may hold the pipe open
            await asyncio.wait_for(asyncio.shield(self._drain), 5)
        self._drain.cancel()
        return code


class Processes:
    """The children one test starts (`python -m MODULE ARGS…`), all stopped by `stop_all`."""

    def __init__(self, settings: Settings, **env: str) -> None:
        self.env = role_env(settings, **env)
        self.running: list[RoleProcess] = []

    async def start(self, module: str, *args: str, ready: Ready | None = None,
                    timeout: float = 30.0, **env: str) -> RoleProcess:
        """Start a child and wait until `ready` (default: the dispatcher's ready line)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, *args, cwd=ROOT, env=self.env | env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        child = RoleProcess(proc, " ".join((module, *args)))
        self.running.append(child)
        await child.wait_ready(ready or line_ready(), timeout)
        return child

    async def stop_all(self) -> None:
        """Kill what is still running (a test that wants a clean stop calls `stop` itself)."""
        await asyncio.gather(*(p.stop(signal.SIGKILL) for p in self.running))


async def run_cli(settings: Settings, *args: str, **env: str) -> tuple[int, str]:
    """Run `taskproc ARGS…` to the end; its exit code and standard output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", *args, cwd=ROOT, env=role_env(settings, **env),
        stdout=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()
