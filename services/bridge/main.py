"""`taskproc bridge`: serve one Nextcloud's tasks with this taskproc cluster."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError

from services.bridge.events import TaskEvents
from services.bridge.exapp import create_exapp_app
from services.bridge.metrics import BridgeMetrics
from services.bridge.relay import Relay
from services.bridge.state import BridgeState
from services.bridge.upstream import Upstream
from services.bridge.worker import Bridge, instance_id
from shared.settings import Settings
from shared.stores import Stores

log = logging.getLogger("taskproc.bridge")


class ConfigError(Exception):
    """A setting the bridge cannot run without is missing."""


def check(settings: Settings) -> None:
    bs = settings.bridge
    for name, value in (("NEXTCLOUD_URL", bs.nextcloud_url), ("APP_SECRET", bs.app_secret)):
        if not value:
            raise ConfigError(f"TASKPROC_BRIDGE__{name} is required by the bridge role")


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run until `stop` is set; holds still open then are handed to other replicas."""
    check(settings)
    bs, stores, metrics = settings.bridge, Stores.build(settings), BridgeMetrics()
    redis, keys = stores.redis, stores.keys
    state = BridgeState(redis, keys, instance_id(), int(bs.lease_seconds * 1000))
    events = TaskEvents(redis, keys)
    connector = aiohttp.TCPConnector(limit=64, ssl=True if bs.verify_tls else False)
    async with aiohttp.ClientSession(connector=connector) as session:
        upstream = Upstream(bs, session)
        relay = Relay(bs, upstream, state, stores.tasks, stores.files, stores.registry, events,
                      metrics, stop)
        bridge = Bridge(bs, upstream, state, relay, stores.registry, metrics)
        runner = web.AppRunner(create_exapp_app(bridge, bs, metrics), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, bs.host, bs.port).start()
        log.info("bridge %s serving %s; ExApp endpoints on %s:%s", state.instance,
                 bs.nextcloud_url, bs.host, bs.port)
        loops = [asyncio.create_task(c) for c in (
            events.listen(), bridge.leases_forever(), bridge.sync_forever(),
            bridge.pull_forever())]
        try:
            await stop.wait()
        finally:
            for t in loops:
                t.cancel()
            await _hand_back(bridge, state)
            await runner.cleanup()
            await redis.aclose()


async def _hand_back(bridge: Bridge, state: BridgeState) -> None:
    """Stop the relays and let another replica adopt their tasks at once."""
    held = list(bridge.held)
    for task in list(bridge.held.values()):
        task.cancel()
    await asyncio.gather(*bridge.held.values(), return_exceptions=True)
    with contextlib.suppress(RedisError, OSError):
        if held:
            await state.redis.zadd(state.keys.bridge_leases, dict.fromkeys(
                (str(i) for i in held), 0), xx=True)
            log.info("handed back %d Nextcloud tasks for adoption", len(held))


def run_bridge(settings: Settings) -> int:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    try:
        asyncio.run(main())
    except ConfigError as exc:
        print(f"taskproc: {exc}", flush=True)
        return 2
    return 0
