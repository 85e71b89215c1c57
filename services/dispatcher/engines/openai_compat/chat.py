"""Chat completions: streaming with progress, and folding the answer into text and tool calls."""

from __future__ import annotations

import time
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import orjson

from services.dispatcher.engines.openai_compat.client import Endpoint, OpenAIClient
from services.dispatcher.engines.openai_compat.errors import BadBackendResponse
from services.dispatcher.provider_interface import ProviderContext

_PROGRESS_STEP = 0.05
_PROGRESS_MAX = 0.95
_PROGRESS_MIN_INTERVAL = 0.5


@dataclass
class _ToolCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class ChatResult:
    """What the model said: text, tool calls in OpenAI's shape, and the token count."""

    content: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    completion_tokens: int = 0


class ChatAccumulator:
    """Folds streamed `chat.completion.chunk` events (content and tool-call deltas) together."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._calls: dict[int, _ToolCall] = {}
        self.chunks = 0
        self._usage_tokens = 0

    def add(self, event: dict[str, Any]) -> None:
        usage = event.get("usage")
        if isinstance(usage, dict):
            self._usage_tokens = int(usage.get("completion_tokens") or 0)
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self._parts.append(str(delta["content"]))
                self.chunks += 1
            for tc in delta.get("tool_calls") or []:
                self._add_tool_delta(tc)

    def _add_tool_delta(self, tc: dict[str, Any]) -> None:
        call = self._calls.setdefault(int(tc.get("index") or 0), _ToolCall())
        call.id = call.id or str(tc.get("id") or "")
        fn = tc.get("function") or {}
        call.name += str(fn.get("name") or "")
        call.arguments += str(fn.get("arguments") or "")
        self.chunks += 1

    def result(self) -> ChatResult:
        calls = [{"id": c.id, "type": "function",
                  "function": {"name": c.name, "arguments": c.arguments}}
                 for _, c in sorted(self._calls.items())]
        return ChatResult("".join(self._parts), calls, self._usage_tokens or self.chunks)


def result_from_completion(url: str, body: dict[str, Any]) -> ChatResult:
    """Read a non-streamed `chat.completion` object."""
    try:
        message = body["choices"][0]["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise BadBackendResponse(url, "no choices in the completion") from exc
    usage = body.get("usage") or {}
    return ChatResult(str(message.get("content") or ""), list(message.get("tool_calls") or []),
                      int(usage.get("completion_tokens") or 0))


class ProgressReporter:
    """Turns a token count into rough progress, reported at most every half second."""

    def __init__(self, ctx: ProviderContext, max_tokens: int) -> None:
        self._ctx = ctx
        self._max = max(max_tokens, 1)
        self._last = 0.0
        self._last_at = 0.0

    async def update(self, tokens: int) -> None:
        fraction = min(_PROGRESS_MAX, tokens / self._max)
        now = time.monotonic()
        if fraction - self._last >= _PROGRESS_STEP and now - self._last_at >= \
                _PROGRESS_MIN_INTERVAL:
            self._last, self._last_at = fraction, now
            await self._ctx.progress(fraction)


async def complete_chat(client: OpenAIClient, ep: Endpoint, payload: dict[str, Any],
                        ctx: ProviderContext, stream: bool) -> ChatResult:
    """Run one chat completion; when streaming, report progress as tokens arrive."""
    max_tokens = int(payload.get("max_tokens") or 1024)
    if not stream:
        body = await client.post_json(ep, "/chat/completions", lambda: {"json": payload})
        return result_from_completion(ep.url("/chat/completions"), body)
    streamed = {**payload, "stream": True}
    acc = ChatAccumulator()
    reporter = ProgressReporter(ctx, max_tokens)
    events = client.stream_events(ep, "/chat/completions", lambda: {"json": streamed})
    async with aclosing(events) as stream_iter:
        async for event in stream_iter:
            acc.add(event)
            await reporter.update(acc.chunks)
    return acc.result()


def to_nextcloud_tool_calls(calls: list[dict[str, Any]]) -> str:
    """OpenAI tool calls -> the JSON text of `[{name, type: "tool_call", id, args}]`."""
    out = []
    for call in calls:
        fn = call.get("function") or {}
        try:
            args = orjson.loads(fn.get("arguments") or "{}")
        except orjson.JSONDecodeError:
            args = {"__raw": fn.get("arguments")}
        out.append({"name": fn.get("name", ""), "type": "tool_call", "id": call.get("id", ""),
                    "args": args})
    return orjson.dumps(out).decode()
