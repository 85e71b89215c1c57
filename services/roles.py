"""Entry points of the roles, and `taskproc run` for development."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from services.api.app import create_app
from shared import logs
from shared.accounts import UserStore
from shared.keys import Keys
from shared.redis import connect
from shared.settings import Settings

log = logging.getLogger("taskproc")


def run_api(settings: Settings, args: argparse.Namespace) -> int:
    logs.setup(settings.log_level, settings.log_json)
    # SIGTERM: stop listening, let in-flight requests (long polls too) finish within the grace
    web.run_app(create_app(settings), host=settings.host, port=settings.api_port,
                shutdown_timeout=settings.shutdown_grace_seconds, print=None, access_log=None)
    return 0


def run_fileproxy(settings: Settings, args: argparse.Namespace) -> int:
    from services.fileproxy.app import create_fileproxy_app

    logs.setup(settings.log_level, settings.log_json)
    app = create_fileproxy_app(settings)
    web.run_app(app, host=settings.host, port=settings.fileproxy_port,
                shutdown_timeout=settings.shutdown_grace_seconds, print=None, access_log=None)
    return 0


def run_dispatcher(settings: Settings, args: argparse.Namespace) -> int:
    from services.dispatcher.engines import load_providers, log_providers
    from services.dispatcher.main import DispatcherProcess

    logs.setup(settings.log_level, settings.log_json)
    active, skipped = load_providers(settings)
    log_providers(active, skipped)

    async def main() -> None:
        await DispatcherProcess(settings, active, handle_signals=True).run()

    asyncio.run(main())
    return 0


async def _demo_credentials(settings: Settings, uid: str) -> str:
    redis = connect(settings)
    try:
        users = UserStore(redis, Keys(settings.key_prefix))
        if await users.get(uid) is None:
            return await users.add(uid, "Demo user")
        return await users.new_token(uid)
    finally:
        await redis.aclose()


def _dev_app(settings: Settings) -> web.Application:
    """The api and the fileproxy under one address, so a client needs one base URL."""
    try:
        from services.fileproxy.app import FILE_ROUTES
    except ImportError:
        return create_app(settings)
    return create_app(settings, extra_routes=FILE_ROUTES)


def run_dev(settings: Settings, args: argparse.Namespace) -> int:
    from services.embedded import EmbeddedRedis

    logs.setup(settings.log_level, settings.log_json)
    embedded = None
    if not (os.environ.get("REDIS_URL") or os.environ.get("TASKPROC_REDIS_URL")):
        embedded = EmbeddedRedis(Path(args.var) / "redis").start()
        log.info("embedded Redis on %s (data in %s/redis)", embedded.url, args.var)
    overrides: dict[str, Any] = {"redis_url": embedded.url} if embedded else {}
    if "TASKPROC_FILES_DIR" not in os.environ:
        overrides["files_dir"] = str(Path(args.var) / "files")
    settings = Settings.from_env(**overrides)
    env = dict(os.environ, TASKPROC_REDIS_URL=settings.redis_url,
               TASKPROC_FILES_DIR=str(settings.files_dir))
    dispatcher = subprocess.Popen([sys.executable, "-m", "services.cli", "dispatcher"], env=env)
    try:
        password = asyncio.run(_demo_credentials(settings, args.demo_user))
        base = f"http://{settings.host}:{settings.api_port}"
        print(f"\ntaskproc is running on {base}\n  user: {args.demo_user}\n  app password: "
              f"{password}\n\nTry:\n  curl -u {args.demo_user}:{password} -H 'OCS-APIRequest: "
              f"true' '{base}/ocs/v2.php/taskprocessing/tasktypes?format=json'\n  curl -u "
              f"{args.demo_user}:{password} -H 'OCS-APIRequest: true' -H 'Content-Type: "
              f"application/json' -d '{{\"type\": \"core:text2text:summary\", \"appId\": "
              f"\"demo\", \"input\": {{\"input\": \"Your long text here.\"}}}}' "
              f"'{base}/ocs/v2.php/taskprocessing/schedule?format=json'\n", flush=True)
        web.run_app(_dev_app(settings), host=settings.host, port=settings.api_port,
                    shutdown_timeout=5, print=None, access_log=None)
    finally:
        dispatcher.terminate()
        dispatcher.wait(timeout=30)
        if embedded:
            embedded.stop()
    return 0
