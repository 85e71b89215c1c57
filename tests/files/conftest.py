"""Fixtures of the file tests: the fileproxy app, the one-URL dev app, an ExApp, helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from services.api.app import create_app
from services.fileproxy.app import FILE_ROUTES, create_fileproxy_app
from shared.keys import Keys
from shared.settings import Settings
from shared.store import TaskStore
from tests.support.exapp_auth import make_exapp_headers

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def proxy(aiohttp_client: Any, settings: Settings) -> Client:
    """The fileproxy role's app."""
    client: Client = await aiohttp_client(create_fileproxy_app(settings))
    return client


@pytest.fixture
async def one_url(aiohttp_client: Any, settings: Settings) -> Client:
    """The api with the file routes mounted, as `make run` serves it."""
    client: Client = await aiohttp_client(create_app(settings, extra_routes=FILE_ROUTES))
    return client


@pytest.fixture
async def provider_headers(redis: Redis, keys: Keys) -> dict[str, str]:
    return await make_exapp_headers(redis, keys, "files-test-app")


@pytest.fixture
def make_task(redis: Redis, keys: Keys) -> Callable[..., Awaitable[int]]:
    """`await make_task("alice", [file ids])` -> id of a scheduled audio2text task using them."""
    async def make(user_id: str | None, file_ids: list[int],
                   task_type: str = "core:audio2text") -> int:
        task = await TaskStore(redis, keys).schedule(
            task_type=task_type, user_id=user_id, app_id="tests", custom_id="",
            inputs={"input": file_ids[0]} if file_ids else {}, webhook_uri=None,
            webhook_method=None, include_watermark=True, expected_runtime=10,
            file_ids=file_ids)
        return task.id
    return make


