"""Hostile or broken HTTP input: turned into a 4xx before it reaches a handler, logged briefly.

- a declared `Content-Length` over the route's cap is a 413 before a byte of the body is read;
- a `Content-Encoding` the server cannot decode is a 415 (aiohttp would hand the raw bytes on);
  a body that fails to decode, or multipart that cannot be parsed, is a 400;
- a body that stalls is cut off after `body_timeout_seconds` without data (408);
- aiohttp's own parser errors (a broken request line or header) are logged as one short line
  instead of a traceback; so are clients that vanish mid-request.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from shared.errors import BadRequest, PayloadTooLarge, RequestTimeout, UnsupportedEncoding

try:
    from aiohttp.compression_utils import HAS_BROTLI
except ImportError:  # pragma: no cover - older aiohttp
    HAS_BROTLI = False

log = logging.getLogger(__name__)
DECODABLE = {"", "identity", "gzip", "x-gzip", "deflate"}
MULTIPART_OVERHEAD = 64 * 1024
"""Bytes of multipart framing allowed on top of a file's cap."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME = 255


BROKEN_BODY = (HttpProcessingError, RequestPayloadError, ValueError, UnicodeDecodeError)
"""What aiohttp raises for a body it cannot decode or a multipart it cannot parse."""


def check_declared(request: web.Request, cap: int) -> None:
    """Refuse a body by its headers alone: unknown encodings, a Content-Length over `cap`."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in DECODABLE and not (encoding == "br" and HAS_BROTLI):
        raise UnsupportedEncoding(f"Unsupported Content-Encoding: {encoding[:40]}")
    length = request.content_length
    if length is not None and length > cap:
        raise PayloadTooLarge(f"The request body is larger than {cap} bytes")


def safe_name(name: str) -> str:
    """An upload's file name, refused when it carries control characters or is too long."""
    if _CONTROL.search(name):
        raise BadRequest("The file name contains control characters")
    if len(name) > MAX_NAME:
        raise BadRequest(f"The file name is longer than {MAX_NAME} characters")
    return name


async def read_body(request: web.Request, timeout: float) -> bytes:
    """The whole (small, capped by client_max_size) body, with an overall time limit (no timer
    for a body that has all arrived: reading it cannot wait)."""
    try:
        if request.content.is_eof():
            return await request.read()
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError as exc:
        raise RequestTimeout("The request body was not received in time") from exc
    except web.HTTPRequestEntityTooLarge as exc:
        raise PayloadTooLarge("Request body too large") from exc
    except BROKEN_BODY as exc:
        raise BadRequest("The request body could not be decoded") from exc


async def idle_limited(chunks: AsyncIterator[bytes], idle: float) -> AsyncIterator[bytes]:
    """Pass chunks through; a gap longer than `idle` seconds ends the upload with 408."""
    it = aiter(chunks)
    while True:
        try:
            async with asyncio.timeout(idle):
                chunk = await anext(it)
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise RequestTimeout("The upload stalled") from exc
        yield chunk


class ParserErrorFilter(logging.Filter):
    """One short line for aiohttp's parser errors and vanished clients (no traceback)."""

    QUIET = (HttpProcessingError, RequestPayloadError, ConnectionResetError)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not isinstance(exc, self.QUIET):
            return True
        detail = str(getattr(exc, "message", "") or exc).strip().splitlines()
        record.msg = "bad request: %s: %s"
        record.args = (type(exc).__name__, detail[0][:200] if detail else "")
        record.exc_info = None  # a record reaches its logger's filters before any formatter
        record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def quiet_parser_errors() -> None:
    """Install the filter on aiohttp's server logger (idempotent)."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ParserErrorFilter) for f in logger.filters):
        logger.addFilter(ParserErrorFilter())
