"""Error paths against an in-process fake upstream: a real server cannot fail on demand."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from aiohttp import web

from services.dispatcher.engines.openai_compat.client import RetryPolicy
from services.dispatcher.engines.openai_compat.errors import (
    BackendHTTPError,
    BackendTimeout,
    BackendUnreachable,
)
from services.dispatcher.provider_interface import ProviderError
from services.embedded import free_port
from tests.support.openai import ProvidersFactory, Start, Upstream
from tests.support.providers import RecordingContext

FAST = {"backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05, "max_retries": 2}
CHAT = "core:text2text"


def completion(text: str) -> dict[str, Any]:
    return {"choices": [{"message": {"role": "assistant", "content": text}}],
            "usage": {"completion_tokens": 3}}


async def test_429_then_success_honours_retry_after(fake_upstream: Start,
                                                    make_providers: ProvidersFactory,
                                                    ctx: RecordingContext) -> None:
    up = Upstream([(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}),
                   (200, completion("hello"), {})])
    providers = await make_providers(base_url=await fake_upstream(up.app), stream=False,
                                     backoff_base_seconds=30.0, max_retries=2)
    out = await asyncio.wait_for(providers[CHAT].process({"input": "hi"}, ctx), 5)
    assert out == {"output": "hello"}
    assert len(up.requests) == 2


async def failed(fake_upstream: Start, make_providers: ProvidersFactory, ctx: RecordingContext,
                 up: Upstream, **openai: Any) -> ProviderError:
    """Run a chat task against `up`, which makes it fail (fast retries); the error."""
    providers = await make_providers(base_url=await fake_upstream(up.app), stream=False,
                                     **FAST, **openai)
    with pytest.raises(ProviderError) as info:
        await providers[CHAT].process({"input": "hi"}, ctx)
    return info.value


async def test_5xx_retries_exhausted(fake_upstream: Start, make_providers: ProvidersFactory,
                                     ctx: RecordingContext) -> None:
    up = Upstream([(503, {"error": {"message": "overloaded"}}, {})])
    error = await failed(fake_upstream, make_providers, ctx, up, api_key="sk-secret")
    assert isinstance(error, BackendHTTPError) and error.status == 503
    assert len(up.requests) == 3
    assert error.user_message and "127.0.0.1" not in error.user_message
    assert up.requests[0]["headers"]["Authorization"] == "Bearer sk-secret"


async def test_4xx_is_not_retried(fake_upstream: Start, make_providers: ProvidersFactory,
                                  ctx: RecordingContext) -> None:
    up = Upstream([(400, {"error": {"message": "context length exceeded"}}, {})])
    error = await failed(fake_upstream, make_providers, ctx, up)
    assert len(up.requests) == 1
    assert "context length exceeded" in (error.user_message or "")


async def test_401_message_hides_the_key(fake_upstream: Start, make_providers: ProvidersFactory,
                                         ctx: RecordingContext) -> None:
    up = Upstream([(401, {"error": {"message": "Incorrect API key provided: sk-secret"}}, {})])
    error = await failed(fake_upstream, make_providers, ctx, up, api_key="sk-secret")
    assert "sk-secret" not in str(error) and "sk-secret" not in (error.user_message or "")
    assert len(up.requests) == 1


def test_backoff_grows_with_jitter_and_respects_cap() -> None:
    policy = RetryPolicy(max_retries=5, base=1.0, cap=5.0)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 5.0), (6, 5.0)]:
        delays = {policy.delay(attempt, None) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1
    assert policy.delay(0, 3.0) == 3.0
    assert policy.delay(0, 99.0) == 5.0


class SlowStream:
    """Streams a chunk every 20 ms for ever (or one chunk, then silence); records when the client
    hangs up."""

    def __init__(self, first_chunk_only: bool = False) -> None:
        self.started = asyncio.Event()
        self.closed = asyncio.Event()
        self.silent = first_chunk_only
        self.app = web.Application()
        self.app.router.add_post("/v1/chat/completions", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        chunk = {"choices": [{"index": 0, "delta": {"content": "tok "}}]}
        try:
            while True:
                if not (self.silent and self.started.is_set()):
                    await resp.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
                    self.started.set()
                await asyncio.sleep(0.02)  # the pace of the fake stream
                if request.transport is None or request.transport.is_closing():
                    raise ConnectionResetError
        except asyncio.CancelledError:
            self.closed.set()
            raise
        except ConnectionResetError:
            self.closed.set()
        return resp


async def test_cancel_closes_the_stream(fake_upstream: Start, make_providers: ProvidersFactory,
                                        ctx: RecordingContext) -> None:
    up = SlowStream()
    providers = await make_providers(base_url=await fake_upstream(up.app), max_tokens=10)
    task = asyncio.create_task(providers[CHAT].process({"input": "hi"}, ctx))
    await asyncio.wait_for(ctx.progressed.wait(), 5)
    assert not up.closed.is_set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(up.closed.wait(), 5)
    assert ctx.progress_values and all(0 < f < 1 for f in ctx.progress_values)


async def test_read_timeout(fake_upstream: Start, make_providers: ProvidersFactory,
                            ctx: RecordingContext) -> None:
    up = SlowStream(first_chunk_only=True)
    providers = await make_providers(base_url=await fake_upstream(up.app),
                                     read_timeout_seconds=0.3, **FAST)
    with pytest.raises(BackendTimeout) as info:
        await asyncio.wait_for(providers[CHAT].process({"input": "hi"}, ctx), 5)
    assert "in time" in (info.value.user_message or "")
    await asyncio.wait_for(up.closed.wait(), 5)


async def test_refused_connection_is_retried_then_reported(make_providers: ProvidersFactory,
                                                           ctx: RecordingContext) -> None:
    port = free_port()  # nothing listens there
    providers = await make_providers(base_url=f"http://127.0.0.1:{port}/v1", stream=False,
                                     **FAST)
    with pytest.raises(BackendUnreachable) as info:
        await providers[CHAT].process({"input": "hi"}, ctx)
    assert info.value.retryable and "not reachable" in (info.value.user_message or "")
