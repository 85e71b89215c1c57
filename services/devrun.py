"""`taskproc run` (what `make run` starts): one process for development.

In order: bind the api port (a taken port is one line naming TASKPROC_API_PORT, before anything
else starts), start the embedded Redis unless a Redis setting is given, start the api with the
file routes, start a dispatcher process and wait until it takes work, create the demo user,
record everything in var/run.json for the other `taskproc` commands, and only then print the
banner. Ctrl-C (SIGINT) or SIGTERM stops the dispatcher, the api and the embedded Redis, in
that order, and removes var/run.json.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web

from services import runfile
from services.embedded import EmbeddedRedis, child_options
from services.listen import CannotListen, bind
from services.progress import Progress, Stage
from shared.accounts import UserStore
from shared.keys import Keys
from shared.redis import connect
from shared.settings import Settings

log = logging.getLogger("taskproc")
READY = b"ready with providers"


class StartFailed(RuntimeError):
    """A part did not start; the message says which and what to do (one line)."""


async def _demo_credentials(settings: Settings, uid: str) -> str:
    redis = connect(settings)
    try:
        users = UserStore(redis, Keys(settings.key_prefix))
        if await users.get(uid) is None:
            return await users.add(uid, "Demo user")
        return await users.new_token(uid)
    finally:
        await redis.aclose()


async def _check_redis(settings: Settings, origin: str) -> None:
    redis = connect(settings)
    try:
        await redis.ping()
    except Exception as exc:  # any failure of the first PING: say where and why
        raise StartFailed(f"cannot reach Redis at {runfile.redacted(settings.redis_url)} "
                          f"(from {origin}): {exc}") from None
    finally:
        await redis.aclose()


def _dev_app(settings: Settings) -> web.Application:
    """The api and the fileproxy under one address, so a client needs one base URL."""
    from services.api.app import create_app
    try:
        from services.fileproxy.app import FILE_ROUTES
    except ImportError:
        return create_app(settings)
    return create_app(settings, extra_routes=FILE_ROUTES)


def banner(base: str, uid: str, password: str) -> str:
    auth = f"-u {uid}:{password} -H 'OCS-APIRequest: true'"
    schedule = ('{"type": "core:text2text:summary", "appId": "demo", '
                '"input": {"input": "Your long text here."}}')
    return (f"\ntaskproc is running on {base}\n  user: {uid}\n  app password: {password}\n\n"
            f"Try:\n  curl {auth} '{base}/ocs/v2.php/taskprocessing/tasktypes?format=json'\n"
            f"  curl {auth} -H 'Content-Type: application/json' -d '{schedule}' "
            f"'{base}/ocs/v2.php/taskprocessing/schedule?format=json'\n\n"
            "In another terminal (same directory): .venv/bin/taskproc user add alice\n"
            "Stop with Ctrl-C.\n")


class DevServer:
    """The parts `taskproc run` starts, and their orderly stop."""

    def __init__(self, settings: Settings, var: Path, sock: socket.socket) -> None:
        self.settings, self.var, self.sock = settings, var, sock
        self.embedded: EmbeddedRedis | None = None
        self.runner: web.AppRunner | None = None
        self.dispatcher: asyncio.subprocess.Process | None = None
        self.forwarder: asyncio.Task[None] | None = None
        self.stop = asyncio.Event()
        self.stage: Stage | None = None
        self.died = False

    async def start(self, demo_user: str) -> str:
        """Start every part; the banner text once all are up."""
        await self._redis()
        self.runner = web.AppRunner(_dev_app(self.settings), access_log=None,
                                    shutdown_timeout=5)
        await self.runner.setup()
        await web.SockSite(self.runner, self.sock).start()
        await self._dispatcher()
        password = await _demo_credentials(self.settings, demo_user)
        base = f"http://{self.settings.host}:{self.settings.api_port}"
        runfile.write(self.var, redis_url=self.settings.redis_url, api=base,
                      files_dir=str(self.settings.files_dir),
                      dispatcher_pid=self.dispatcher.pid if self.dispatcher else None,
                      redis_pid=self.embedded.pid if self.embedded else None)
        return banner(base, demo_user, password)

    async def _redis(self) -> None:
        given = next((n for n in runfile.REDIS_SETTINGS if os.environ.get(n)), None)
        if given is not None:
            await _check_redis(self.settings, given)
            return
        data = self.var / "redis"
        try:  # in this (the main) thread: the server dies with the thread that started it
            self.embedded = EmbeddedRedis(data).start()
        except RuntimeError as exc:
            raise StartFailed(str(exc)) from None
        log.info("embedded Redis on %s (data in %s)", self.embedded.url, data)
        self.settings = self.settings.model_copy(update={"redis_url": self.embedded.url})

    async def _dispatcher(self) -> None:
        await asyncio.to_thread(prepare_models_with_progress, self.settings)
        env = dict(os.environ, TASKPROC_REDIS_URL=self.settings.redis_url,
                   TASKPROC_FILES_DIR=str(self.settings.files_dir))
        env.pop("REDIS_URL", None)
        self.dispatcher = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.cli", "dispatcher", env=env,
            stderr=asyncio.subprocess.PIPE, **child_options())
        ready = asyncio.get_running_loop().create_future()
        self.forwarder = asyncio.create_task(self._forward(ready))
        with Stage("starting the dispatcher (engines prepare their models)") as self.stage:
            await ready
        self.stage = None
        if not ready.result():
            raise StartFailed(f"the dispatcher exited with {await self.dispatcher.wait()} "
                              "before it was ready (its log is above)")

    async def _forward(self, ready: asyncio.Future[bool]) -> None:
        """Copy the dispatcher's log to ours; resolve `ready` at its ready line or its end."""
        assert self.dispatcher is not None and self.dispatcher.stderr is not None
        while line := await self.dispatcher.stderr.readline():
            if self.stage is not None:
                self.stage.write(line.decode(errors="replace"))
            else:
                sys.stderr.buffer.write(line)
                sys.stderr.flush()
            if READY in line and not ready.done():
                ready.set_result(True)
        if not ready.done():
            ready.set_result(False)
        elif not self.stop.is_set():  # it went away on its own while we run: stop the rest too
            code = await self.dispatcher.wait()
            log.error("the dispatcher exited with %s; stopping taskproc run", code)
            self.died = True
            self.stop.set()

    async def close(self) -> None:
        runfile.remove(self.var)
        if self.dispatcher is not None and self.dispatcher.returncode is None:
            self.dispatcher.terminate()
            try:
                await asyncio.wait_for(self.dispatcher.wait(),
                                       self.settings.shutdown_grace_seconds + 10)
            except TimeoutError:
                self.dispatcher.kill()
                await self.dispatcher.wait()
        if self.forwarder is not None:
            await self.forwarder
        if self.runner is not None:
            await self.runner.cleanup()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


async def _serve(settings: Settings, var: Path, sock: socket.socket, demo_user: str) -> int:
    server = DevServer(settings, var, sock)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop.set)
    try:
        starting = asyncio.create_task(server.start(demo_user))
        stopping = asyncio.create_task(server.stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            return 0  # stopped while starting
        print(starting.result(), flush=True)
        await stopping
        return 1 if server.died else 0
    finally:
        log.info("stopping: dispatcher, api, embedded Redis")
        await server.close()


def run_dev(settings: Settings, var: Path, demo_user: str) -> int:
    files = settings.files_dir if os.environ.get("TASKPROC_FILES_DIR") else var / "files"
    settings = settings.model_copy(update={"files_dir": files.resolve()})
    try:
        sock = bind(settings.host, settings.api_port, "TASKPROC_API_PORT")
        var.mkdir(parents=True, exist_ok=True)
        return asyncio.run(_serve(settings, var, sock, demo_user))
    except (CannotListen, StartFailed) as exc:
        print(f"taskproc: {exc}", file=sys.stderr, flush=True)
        return 1


def prepare_models_with_progress(settings: Settings) -> None:
    """Assemble split engine models (Whisper base ships in parts) before the dispatcher starts,
    with a progress line per model, instead of silently on the first task that needs it."""
    from services.dispatcher.engines.models import prepare_models

    bars: dict[str, Progress] = {}

    def report(name: str, fraction: float) -> None:
        bar = bars.get(name) or bars.setdefault(
            name, Progress(f"preparing the {name} model (percent)", total=100))
        bar.advance(max(0, round(fraction * 100) - bar.done))
    try:
        prepare_models(settings.engines, report)
    finally:
        for bar in bars.values():
            bar.__exit__(None, None, None)
