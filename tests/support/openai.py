"""What the OpenAI-compatible provider tests share: the fixtures' types and a scripted fake
upstream (aiohttp's examples/fake_server.py pattern; `fake_upstream` serves it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from services.dispatcher.provider_interface import Provider

ProvidersFactory = Callable[..., Awaitable[dict[str, Provider]]]
"""The `make_providers` fixture: `openai` settings (keywords) -> providers by task type."""
Start = Callable[[web.Application], Awaitable[str]]
"""The `fake_upstream` fixture: serve an app on a free loopback port; its /v1 base URL."""


class Upstream:
    """Answers each request with the next scripted (status, body, headers); records requests."""

    def __init__(self, script: list[tuple[int, Any, dict[str, str]]]) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_post("/v1/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append({"path": request.path, "body": body, "headers": request.headers})
        status, payload, headers = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        return web.Response(status=status, body=data, headers=headers,
                            content_type="application/json")
