"""The HTTP client: one aiohttp session per provider set, retries, timeouts and SSE streams.

Every aiohttp or JSON error is turned into a `BackendError` here, with the cause chained, so the
providers above only ever see the project's exceptions.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import aiohttp
import orjson
from multidict import CIMultiDictProxy

from services.dispatcher.engines.openai_compat.errors import (
    BackendHTTPError,
    BackendTimeout,
    BackendUnreachable,
    BadBackendResponse,
)
from shared.settings_openai import OpenAISettings

T = TypeVar("T")

RequestBody = Callable[[], dict[str, Any]]
"""Builds the keyword arguments of one attempt (`json=` or `data=`); a form is single-use."""


@dataclass(frozen=True)
class Endpoint:
    """Where one task type goes: base URL, key and model."""

    base_url: str
    api_key: str | None
    model: str

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def __repr__(self) -> str:  # never print the key
        return f"Endpoint({self.base_url!r}, model={self.model!r})"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; a server's Retry-After wins, within the cap."""

    max_retries: int = 3
    base: float = 1.0
    cap: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        return float(random.uniform(0.5, 1.0) * min(self.cap, self.base * 2.0 ** attempt))


class OpenAIClient:
    """Talks to any number of OpenAI-compatible endpoints through one lazily opened session."""

    def __init__(self, settings: OpenAISettings) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=settings.timeout_seconds, connect=settings.connect_timeout_seconds,
            sock_read=settings.read_timeout_seconds)
        self._retry = RetryPolicy(settings.max_retries, settings.backoff_base_seconds,
                                  settings.backoff_max_seconds)
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        """Close the session; safe to call more than once (every provider of the set does)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def post_json(self, ep: Endpoint, path: str, body: RequestBody) -> dict[str, Any]:
        """POST and parse a JSON object answer."""
        raw = await self.post_bytes(ep, path, body)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadBackendResponse(ep.url(path), "not JSON") from exc
        if not isinstance(data, dict):
            raise BadBackendResponse(ep.url(path), "not a JSON object")
        return data

    async def post_bytes(self, ep: Endpoint, path: str, body: RequestBody) -> bytes:
        """POST and return the raw answer body (audio, images)."""
        url = ep.url(path)
        resp = await self._open(url, ep, body)
        async with resp:
            return await _guard(url, resp.read())

    async def get_bytes(self, url: str) -> bytes:
        """Fetch a result the backend handed out by URL (an image URL)."""
        resp = await self._open(url, None, dict, method="GET")
        async with resp:
            return await _guard(url, resp.read())

    async def stream_events(self, ep: Endpoint, path: str, body: RequestBody
                            ) -> AsyncGenerator[dict[str, Any], None]:
        """POST with `stream: true` and yield each SSE `data:` object until `[DONE]`.

        Closing or cancelling the iteration closes the connection, so the backend stops work.
        """
        url = ep.url(path)
        resp = await self._open(url, ep, body)
        done = False
        try:
            async for data in _sse_data(url, resp):
                if data == "[DONE]":
                    done = True
                    return
                yield _event(url, data)
            done = True
        finally:
            if done:
                resp.release()
            else:
                resp.close()

    async def _open(self, url: str, ep: Endpoint | None, body: RequestBody,
                    method: str = "POST") -> aiohttp.ClientResponse:
        """Send with retries on 429, 5xx and refused connections; return a 2xx response."""
        attempt = 0
        while True:
            try:
                return await self._attempt(method, url, ep, body())
            except (BackendHTTPError, BackendUnreachable) as exc:
                retry_after = exc.retry_after if isinstance(exc, BackendHTTPError) else None
                if attempt >= self._retry.max_retries or not _retryable(exc):
                    raise
                await asyncio.sleep(self._retry.delay(attempt, retry_after))
                attempt += 1

    async def _attempt(self, method: str, url: str, ep: Endpoint | None,
                       kwargs: dict[str, Any]) -> aiohttp.ClientResponse:
        headers = ep.headers() if ep else {}
        resp = await _guard(url, self._get_session().request(method, url, headers=headers,
                                                               **kwargs))
        if resp.status < 400:
            return resp
        async with resp:
            raw = await _guard(url, resp.read())
        secret = ep.api_key if ep else None
        raise BackendHTTPError(resp.status, url, error_detail(raw, secret),
                               retry_after_seconds(resp.headers))


def _retryable(exc: BackendHTTPError | BackendUnreachable) -> bool:
    return exc.retryable


async def _guard(url: str, aw: Awaitable[T]) -> T:
    """Await an aiohttp operation, mapping its errors to BackendError with the cause chained."""
    try:
        result = await aw
    except TimeoutError as exc:
        raise BackendTimeout(url) from exc
    except aiohttp.ClientError as exc:
        raise BackendUnreachable(url, type(exc).__name__,
                                 retryable=isinstance(exc, aiohttp.ClientConnectorError)) from exc
    return result


async def _sse_data(url: str, resp: aiohttp.ClientResponse) -> AsyncIterator[str]:
    """The `data:` payloads of a server-sent event stream, one per event."""
    lines: list[str] = []
    while True:
        raw = await _guard(url, resp.content.readline())
        if not raw:
            break
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line.startswith("data:"):
            lines.append(line[5:].removeprefix(" "))
        elif not line and lines:
            yield "\n".join(lines)
            lines = []
    if lines:
        yield "\n".join(lines)


def _event(url: str, data: str) -> dict[str, Any]:
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadBackendResponse(url, "stream event is not JSON") from exc
    if not isinstance(event, dict):
        raise BadBackendResponse(url, "stream event is not an object")
    if event.get("error"):
        raise BadBackendResponse(url, error_detail(orjson.dumps(event), None))
    return event


def error_detail(raw: bytes, secret: str | None) -> str:
    """The backend's error message (OpenAI, FastAPI or plain text), with any key scrubbed."""
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        text = err if isinstance(err, str) else orjson.dumps(err).decode()
    text = " ".join(text.split())[:500]
    return text.replace(secret, "***") if secret else text


def retry_after_seconds(headers: CIMultiDictProxy[str]) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
