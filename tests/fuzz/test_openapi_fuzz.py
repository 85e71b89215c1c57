"""schemathesis against the OpenAPI document (issue 11 item 12): every operation, a bounded
number of generated requests each, over real HTTP to a real api (with the file routes) on a
real Redis; no answer may be a 5xx, and every answer must conform to the document.

schemathesis is in the test extra; without it this module skips, except under CI (CI=true),
where it fails.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis as sync_redis
import requests

from services.api.app import create_app
from services.fileproxy.app import FILE_ROUTES
from services.openapi import OUT
from shared.accounts import ExAppStore, UserStore
from shared.keys import Keys
from shared.registry import ProviderRegistry
from shared.settings import RateLimitSettings, Settings
from tests.support.exapp_auth import exapp_headers
from tests.support.ocs import basic
from tests.support.providers import EchoProvider

try:
    import schemathesis
    from hypothesis import HealthCheck, settings
    from schemathesis import checks
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("schemathesis is not installed (pip install -e '.[test]')",
                allow_module_level=True)

SCHEMA = schemathesis.openapi.from_path(OUT)
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance]
EXAMPLES = int(os.environ.get("TASKPROC_TEST_FUZZ_EXAMPLES", "6"))


class LiveApi:
    """The api in a thread of its own (schemathesis calls it synchronously)."""

    def __init__(self, settings_: Settings) -> None:
        self.settings = settings_
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.base_url = ""
        self.headers: dict[str, dict[str, str]] = {}

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        from aiohttp import web
        self.runner = web.AppRunner(create_app(self.settings, extra_routes=FILE_ROUTES))
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        from redis.asyncio import Redis
        r, keys = Redis.from_url(self.settings.redis_url), Keys(self.settings.key_prefix)
        users = UserStore(r, keys)
        self.headers["user"] = basic("alice", await users.add("alice"))
        self.headers["admin"] = basic("root", await users.add("root", admin=True))
        self.headers["exapp"] = exapp_headers("fuzz", await ExAppStore(r, keys).add("fuzz"), "")
        await ProviderRegistry(r, keys).register(EchoProvider().spec, ttl_seconds=3600)
        await r.aclose()

    def start(self) -> LiveApi:
        self.thread.start()
        assert self.ready.wait(30), "the api did not start"
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


@pytest.fixture(scope="module")
def live_api(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    client = sync_redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    off = RateLimitSettings(schedule_user="", schedule_guest="", failed_login="",
                            failed_login_address="", schedule_exapp="")
    files = Path(tmp_path_factory.mktemp("fuzz-files"))
    api = LiveApi(Settings(redis_url=redis_url, files_dir=files, rate_limits=off,
                           tasktypes_cache_seconds=0.0, body_timeout_seconds=5.0)).start()
    yield api
    api.stop()


def _who(case: Any) -> str:
    access = case.operation.definition.raw.get("x-taskproc-access", "user")
    return {"exapp": "exapp", "appapi": "exapp", "admin": "admin"}.get(access, "user")


def _send(live_api: LiveApi, case: Any, headers: dict[str, str]) -> Any:
    """Send the case with aiohttp from the server's loop; schemathesis' own transport is
    requests, whose pool urllib3-future (pulled in by nc_py_api's niquests) replaces."""
    kwargs = case.as_transport_kwargs(base_url=live_api.base_url, headers=headers)
    kwargs.pop("timeout", None)
    kwargs.pop("allow_redirects", None)
    prepared = requests.Request(**kwargs).prepare()

    async def go() -> tuple[int, dict[str, list[str]], bytes, float]:
        start = time.perf_counter()
        async with aiohttp.ClientSession() as session, session.request(
                prepared.method or "GET", prepared.url or "", headers=dict(prepared.headers),
                data=prepared.body, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=30)) as resp:
            body = await resp.read()
            headers_ = {k: resp.headers.getall(k) for k in resp.headers}
            return resp.status, headers_, body, time.perf_counter() - start
    status, got, body, elapsed = asyncio.run_coroutine_threadsafe(go(), live_api.loop).result(60)
    return schemathesis.Response(status, got, body, prepared, elapsed, verify=False)


@SCHEMA.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_answers_conform(case: Any, live_api: LiveApi) -> None:
    headers = live_api.headers[_who(case)] | {"Accept": "application/json"}
    case.validate_response(_send(live_api, case, headers), checks=CHECKS)
