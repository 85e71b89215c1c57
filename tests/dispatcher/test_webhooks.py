"""Webhooks: Nextcloud's delivery, to public destinations only, apart from task slots, retried.

Receivers are in-process aiohttp servers on loopback, so each test that wants a delivery allows
127.0.0.0/8 explicitly (`webhook_allow_networks`); the default refuses loopback.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp import web

from shared.settings import Settings
from shared.tasks import Status
from tests.support.ocs import V2, scheduled_id
from tests.support.providers import EchoProvider, GateProvider
from tests.support.waits import until, wait_for_status

LOOPBACK = ["127.0.0.0/8"]


def allowing(settings: Settings, **more: Any) -> Settings:
    return settings.model_copy(update={"webhook_allow_networks": LOOPBACK} | more)


async def receiver(aiohttp_server: Any, handler: Any, path: str = "/hook") -> str:
    app = web.Application()
    app.router.add_route("*", path, handler)
    server = await aiohttp_server(app)
    return str(server.make_url(path))


def logged(caplog: pytest.LogCaptureFixture, text: str) -> Any:
    async def check() -> bool:
        return any(text in r.getMessage() for r in caplog.records)
    return check


async def test_webhook_fires_on_success(aiohttp_server: Any, api: Any, make_user: Any,
                                        dispatcher: Any, settings: Settings) -> None:
    calls: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await calls.put((request.method, await request.json()))
        return web.Response(text="ok")
    url = await receiver(aiohttp_server, hook)
    await dispatcher(EchoProvider(), settings_=allowing(settings))
    tid = await scheduled_id(api, await make_user("alice"), webhookUri=url,
                             webhookMethod="HTTP:POST")
    method, body = await asyncio.wait_for(calls.get(), 10)
    assert method == "POST" and body["task"]["id"] == tid
    assert body["task"]["status"] == "STATUS_SUCCESSFUL"
    assert body["task"]["output"] == {"output": "HI"}


async def test_webhook_on_cancel_of_running_task(aiohttp_server: Any, api: Any, make_user: Any,
                                                 dispatcher: Any, settings: Settings) -> None:
    calls: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await calls.put(await request.json())
        return web.Response()
    url = await receiver(aiohttp_server, hook)
    gate = GateProvider()
    await dispatcher(gate, settings_=allowing(settings))
    alice = await make_user("alice")
    tid = await scheduled_id(api, alice, webhookUri=url, webhookMethod="HTTP:PUT")
    await asyncio.wait_for(gate.started.get(), 10)
    await api.post(f"{V2}/tasks/{tid}/cancel?format=json", headers=alice)
    body = await asyncio.wait_for(calls.get(), 10)
    assert body["task"]["status"] == "STATUS_CANCELLED"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
async def test_non_public_destinations_are_refused_by_default(
        aiohttp_server: Any, api: Any, make_user: Any, dispatcher: Any, settings: Settings,
        caplog: pytest.LogCaptureFixture, host: str) -> None:
    hits: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response()
    url = await receiver(aiohttp_server, hook)
    port = url.rsplit(":", 1)[1].split("/")[0]
    caplog.set_level(logging.INFO)
    await dispatcher(EchoProvider())
    await scheduled_id(api, await make_user("alice"), webhookUri=f"http://{host}:{port}/hook",
                   webhookMethod="HTTP:POST")
    await until(logged(caplog, "refused"), timeout=10)
    assert hits == []


async def test_redirects_are_not_followed(aiohttp_server: Any, api: Any, make_user: Any,
                                          dispatcher: Any, settings: Settings,
                                          caplog: pytest.LogCaptureFixture) -> None:
    hits: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        hits.append(request.path)
        if request.path == "/hook":
            raise web.HTTPFound("/inner")
        return web.Response()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hook)
    server = await aiohttp_server(app)
    caplog.set_level(logging.INFO)
    await dispatcher(EchoProvider(), settings_=allowing(settings))
    await scheduled_id(api, await make_user("alice"), webhookUri=str(server.make_url("/hook")),
                   webhookMethod="HTTP:POST")
    await until(logged(caplog, "redirects are not followed"), timeout=10)
    assert hits == ["/hook"]


async def test_failed_delivery_is_retried_with_backoff(aiohttp_server: Any, api: Any,
                                                       make_user: Any, dispatcher: Any,
                                                       settings: Settings) -> None:
    calls: asyncio.Queue[int] = asyncio.Queue()
    answers = iter([503, 200])

    async def hook(request: web.Request) -> web.Response:
        status = next(answers)
        await calls.put(status)
        return web.Response(status=status)
    url = await receiver(aiohttp_server, hook)
    await dispatcher(EchoProvider(), settings_=allowing(settings, webhook_max_attempts=3))
    await scheduled_id(api, await make_user("alice"), webhookUri=url, webhookMethod="HTTP:POST")
    assert await asyncio.wait_for(calls.get(), 10) == 503
    assert await asyncio.wait_for(calls.get(), 15) == 200


async def test_response_body_is_not_read(aiohttp_server: Any, api: Any, make_user: Any,
                                         dispatcher: Any, settings: Settings) -> None:
    """A receiver that streams without end: the delivery ends and the connection is closed."""
    sent = 0
    closed = asyncio.Event()

    async def hook(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        resp = web.StreamResponse()
        await resp.prepare(request)
        try:
            while sent < 200 * 1024 * 1024:
                await resp.write(b"x" * 65536)
                sent += 65536
        except BaseException:
            closed.set()
            raise
        return resp
    url = await receiver(aiohttp_server, hook)
    await dispatcher(EchoProvider(), settings_=allowing(settings))
    await scheduled_id(api, await make_user("alice"), webhookUri=url, webhookMethod="HTTP:POST")
    await asyncio.wait_for(closed.wait(), 15)
    assert sent < 50 * 1024 * 1024


async def test_slow_webhook_holds_no_task_slot(aiohttp_server: Any, api: Any, make_user: Any,
                                               dispatcher: Any, settings: Settings,
                                               redis: Any, keys: Any) -> None:
    """One task slot: a receiver that never answers must not stop the next task."""
    entered = asyncio.Event()
    release = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        entered.set()
        await release.wait()
        return web.Response()
    url = await receiver(aiohttp_server, hook)
    await dispatcher(EchoProvider(), settings_=allowing(settings, dispatcher_concurrency=1))
    alice = await make_user("alice")
    await scheduled_id(api, alice, webhookUri=url, webhookMethod="HTTP:POST")
    await asyncio.wait_for(entered.wait(), 10)
    second = await scheduled_id(api, alice)
    await wait_for_status(redis, keys, second, Status.SUCCESSFUL, timeout=10)
    release.set()
