"""Fixtures for ExApp tests: registered ExApps, providers, and a real listening server that
nc_py_api can be pointed at."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio import Redis

from shared.accounts import ExAppStore
from shared.keys import Keys
from tests.support.exapp_auth import exapp_headers

ExAppFactory = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def make_exapp(redis: Redis, keys: Keys) -> ExAppFactory:
    """`await make_exapp("llm2", user="alice")` -> AppAPI headers of a new ExApp."""
    async def make(app_id: str = "llm2", user: str = "") -> dict[str, str]:
        secret = await ExAppStore(redis, keys).add(app_id)
        return exapp_headers(app_id, secret, user)
    return make


