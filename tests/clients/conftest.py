"""A listening taskproc (api with the file routes) and a dispatcher running taskproc_fake's
providers, for the client replay tests: each test sends what a real client sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.api.app import create_app
from services.fileproxy.app import FILE_ROUTES
from shared.settings import Settings
from tests.clients.replay import Client
from tests.support.live import Live
from tests.support.ncdev_fake import FakeTranslateProvider, ncdev_fake_providers


@pytest.fixture
async def live(aiohttp_server: Any, settings: Settings, make_user: Any,
               dispatcher: Any) -> AsyncIterator[Live]:
    """taskproc on a free port; `await live.user("alice")` gives a Client with her app
    password; tasks with `ncdev:hold` stay RUNNING (progress 0.5) until `live.hold` is set.
    Providers: taskproc_fake's five, and a translate provider for en→de and de→en."""
    server = await aiohttp_server(create_app(settings, extra_routes=FILE_ROUTES))
    base = f"http://{server.host}:{server.port}"
    hold = asyncio.Event()
    await dispatcher(*ncdev_fake_providers(second=0.05, hold=hold), FakeTranslateProvider())

    async def user(uid: str, **defaults: str) -> Client:
        headers = await make_user(uid)
        headers.pop("OCS-APIRequest")
        return Client(base, {"Authorization": headers["Authorization"], **defaults})
    yield Live(base, hold, user)
    hold.set()
