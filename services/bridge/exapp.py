"""The ExApp side of AppAPI: the endpoints Nextcloud calls on taskproc's bridge.

    GET  /heartbeat                  {"status": "ok"} (no authentication, as nc_py_api)
    POST /init                       501: nothing to install, AppAPI marks init done itself
    PUT  /enabled?enabled=0|1        register / unregister the providers; {"error": ""}
    POST /trigger?providerId=…       a task was scheduled for one of our providers: pull now
    GET  /healthz, /readyz, /metrics probes and Prometheus (no AppAPI authentication)

Every other call must carry AppAPI's headers with this ExApp's id and secret.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from services.bridge.metrics import BridgeMetrics
from services.bridge.upstream import UpstreamError
from services.bridge.worker import Bridge
from shared.settings_bridge import BridgeSettings

log = logging.getLogger("taskproc.bridge")
BRIDGE = web.AppKey("bridge", Bridge)
SETTINGS = web.AppKey("bridge_settings", BridgeSettings)
METRICS = web.AppKey("bridge_metrics", BridgeMetrics)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPEN = frozenset({"/heartbeat", "/healthz", "/readyz", "/metrics"})


def authentic(request: web.Request, bs: BridgeSettings) -> bool:
    """AppAPI's signature: our ExApp id and `base64(user:secret)` with our secret."""
    if request.headers.get("EX-APP-ID") != bs.app_id or not bs.app_secret:
        return False
    try:
        decoded = base64.b64decode(request.headers.get("AUTHORIZATION-APP-API", ""),
                                   validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    _, _, secret = decoded.partition(":")
    return hmac.compare_digest(secret.encode(), bs.app_secret.encode())


@web.middleware
async def appapi_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path not in OPEN and not authentic(request, request.app[SETTINGS]):
        log.warning("refused an unauthenticated call to %s %s from %s", request.method,
                    request.path, request.remote)
        return web.json_response({"error": "AppAPI authentication failed"}, status=401)
    return await handler(request)


async def heartbeat(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def init(request: web.Request) -> web.Response:
    return web.json_response({"error": "nothing to initialise"}, status=501)


async def enabled(request: web.Request) -> web.Response:
    flag = request.query.get("enabled", "")
    if flag not in ("0", "1"):
        return web.json_response({"error": 'query "enabled" must be 0 or 1'}, status=400)
    try:
        await request.app[BRIDGE].set_enabled(flag == "1")
    except UpstreamError as exc:
        log.warning("enabling the bridge: %s", exc)
        return web.json_response({"error": f"provider registration failed: {exc}"})
    log.info("AppAPI %s the bridge", "enabled" if flag == "1" else "disabled")
    return web.json_response({"error": ""})


async def trigger(request: web.Request) -> web.Response:
    request.app[METRICS].triggers.inc()
    request.app[BRIDGE].trigger.set()
    return web.json_response({"error": ""})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ready = request.app[BRIDGE].ready
    return web.json_response({"status": "ready" if ready else "starting"},
                             status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=request.app[METRICS].render(),
                        content_type="text/plain", charset="utf-8")


def create_exapp_app(bridge: Bridge, bs: BridgeSettings, m: BridgeMetrics) -> web.Application:
    app = web.Application(middlewares=[appapi_auth], client_max_size=64 * 1024)
    app[BRIDGE], app[SETTINGS], app[METRICS] = bridge, bs, m
    app.add_routes([web.get("/heartbeat", heartbeat), web.post("/init", init),
                    web.put("/enabled", enabled), web.post("/trigger", trigger),
                    web.get("/healthz", healthz), web.get("/readyz", readyz),
                    web.get("/metrics", metrics)])
    return app
