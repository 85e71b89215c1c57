"""Entry points of the roles, and `taskproc run` for development."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from services.listen import CannotListen, bind
from shared import logs
from shared.settings import Settings, SettingsInvalid

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("taskproc")


def _serve(app: web.Application, settings: Settings, port: int, setting: str) -> int:
    """Bind first (a taken port is one line naming `setting`), then serve until SIGTERM."""
    from aiohttp import web

    from shared.http.serve import server_options

    try:
        sock = bind(settings.host, port, setting)
    except CannotListen as exc:
        print(f"taskproc: {exc}", file=sys.stderr, flush=True)
        return 1
    # What is loaded by now (modules, the app) lives as long as the process: the cyclic GC
    # need not walk it again on every full collection while requests come in.
    gc.freeze()
    web.run_app(app, sock=sock, shutdown_timeout=settings.shutdown_grace_seconds, print=None,
                access_log=None, **server_options(settings))
    return 0


def _caps_unreadable(settings: Settings) -> bool:
    """The HTTP roles' rate limits, read before anything else: a value `limits` cannot read
    is one line naming its variable, as for every other setting."""
    from shared.http.ratelimit import parse_caps

    try:
        parse_caps(settings.rate_limits)
    except SettingsInvalid as exc:
        print(f"taskproc: {exc}", file=sys.stderr, flush=True)
        return True
    return False


def _setup(settings: Settings, args: argparse.Namespace) -> None:
    """Logging as configured, then the CLI's line saying which Redis this role uses."""
    logs.setup(settings.log_level, settings.log_json)
    if getattr(args, "redis_line", None):
        log.info("%s", args.redis_line.removeprefix("taskproc: "))


def run_api(settings: Settings, args: argparse.Namespace) -> int:
    from services.api.app import create_app  # here: the dispatcher loads no HTTP server code

    if _caps_unreadable(settings):
        return 2
    _setup(settings, args)
    # SIGTERM: stop listening, let in-flight requests (long polls too) finish within the grace
    return _serve(create_app(settings), settings, settings.api_port, "TASKPROC_API_PORT")


def run_fileproxy(settings: Settings, args: argparse.Namespace) -> int:
    from services.fileproxy.app import create_fileproxy_app

    if _caps_unreadable(settings):
        return 2
    _setup(settings, args)
    return _serve(create_fileproxy_app(settings), settings, settings.fileproxy_port,
                  "TASKPROC_FILEPROXY_PORT")


def run_dispatcher(settings: Settings, args: argparse.Namespace) -> int:
    from services.dispatcher.engines import load_providers, log_providers
    from services.dispatcher.main import DispatcherProcess

    _setup(settings, args)
    active, skipped = load_providers(settings)
    log_providers(active, skipped)

    async def main() -> None:
        await DispatcherProcess(settings, active, handle_signals=True).run()

    asyncio.run(main())
    return 0


def run_bridge(settings: Settings, args: argparse.Namespace) -> int:
    from services.bridge.main import run_bridge as serve_bridge

    _setup(settings, args)
    return serve_bridge(settings)


def run_dev(settings: Settings, args: argparse.Namespace) -> int:
    from services.devrun import run_dev as run

    if _caps_unreadable(settings):
        return 2
    logs.setup(settings.log_level, settings.log_json)
    return run(settings, Path(args.var), args.demo_user)
