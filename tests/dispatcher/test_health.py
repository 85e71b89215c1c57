"""The dispatcher's probe server (standard library, no aiohttp server): it answers what the
api's aiohttp probes answer, refuses what aiohttp's router refuses, honours
`dispatcher_metrics_port` and stops cleanly; a stuck event loop shows as not ready."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from services.dispatcher import health as health_module
from services.dispatcher.health import HealthServer, HealthState
from services.embedded import free_port
from shared.metrics import Metrics
from shared.settings import Settings
from shared.stores import Stores
from tests.support.rawhttp import raw_request

Start = Callable[..., Awaitable[HealthServer]]


@pytest.fixture
async def health(settings: Settings, redis: Redis) -> AsyncIterator[Start]:
    """`await health(port=0, redis=…, started=…, listening=…)`: a probe server, stopped after."""
    servers: list[HealthServer] = []

    async def start(port: int = 0, redis_: Redis = redis, **state: Any) -> HealthServer:
        stores = Stores.build(settings, redis_)
        server = HealthServer(HealthState(Metrics("dispatcher"), stores, lambda: False, **state),
                              "127.0.0.1", port)
        await server.start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        await server.stop()


def _base(server: HealthServer) -> str:
    return f"http://127.0.0.1:{server.port}"


async def test_probes_answer_as_the_api_does(health: Start, api: Any) -> None:
    base = _base(await health(started=True, listening=True))
    for path in ("/healthz", "/readyz", "/readyz?probe=1"):
        ours, theirs = await raw_request(base, "GET", path), await api.get(path)
        assert (ours.status, ours.headers["Content-Type"], ours.body) == (
            theirs.status, theirs.headers["Content-Type"], await theirs.read())
    ours, theirs = await raw_request(base, "GET", "/metrics"), await api.get("/metrics")
    assert ours.status == 200 and ours.headers["Content-Type"] == theirs.headers["Content-Type"]
    assert b'taskproc_role_info{role="dispatcher"} 1.0' in ours.body
    assert b"taskproc_redis_up 1.0" in ours.body


async def test_readiness_names_the_reason(health: Start) -> None:
    server = await health()
    base = _base(server)
    for reason, change in [("starting", {}), ("pub/sub listener reconnecting", {"started": True}),
                           ("ok", {"listening": True})]:
        vars(server.state).update(change)
        got = await raw_request(base, "GET", "/readyz")
        assert (got.status, got.json()) == (200 if reason == "ok" else 503, {"status": reason})
    gone = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    got = await raw_request(_base(await health(redis_=gone, started=True, listening=True)),
                            "GET", "/readyz")
    assert (got.status, got.json()) == (503, {"status": "redis unavailable"})
    await gone.aclose()


@pytest.mark.parametrize(("method", "path", "status", "body"), [
    ("HEAD", "/healthz", 405, b""), ("POST", "/readyz", 405, b"405: Method Not Allowed"),
    ("GET", "/nope", 404, b"404: Not Found"), ("HEAD", "/nope", 404, b""),
    ("GET", "/healthz/", 404, b"404: Not Found")])
async def test_refusals_are_aiohttps(health: Start, method: str, path: str, status: int,
                                     body: bytes) -> None:
    got = await raw_request(_base(await health()), method, path)
    assert (got.status, got.body, got.headers["Content-Type"]) == (
        status, body, "text/plain; charset=utf-8")
    assert got.headers.get("Allow") == ("GET" if status == 405 else None)


async def test_port_setting_and_stop(health: Start, caplog: pytest.LogCaptureFixture) -> None:
    assert (await health(port=-1)).server is None
    first = await health()
    assert (await health(port=first.port)).server is None  # taken: logged, the process runs on
    assert f"dispatcher health server not started on 127.0.0.1:{first.port}" in caplog.text
    await first.stop()
    with pytest.raises(OSError):
        await raw_request(_base(first), "GET", "/healthz")


async def test_a_stuck_event_loop_is_not_ready(health: Start,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health_module, "ANSWER_SECONDS", 0.1)
    url = f"{_base(await health(started=True, listening=True))}/healthz"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=30)  # noqa: ASYNC210 (blocks this loop on purpose)
    assert (refused.value.code, refused.value.read()) == (
        503, b'{"status": "event loop unresponsive"}')
