"""Malformed and hostile requests get a 4xx, never a 500 (issue 11 items 6 and 10), over real
HTTP (raw sockets where aiohttp's client would refuse to send such bytes) against a real Redis.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from services.api.app import create_app
from services.fileproxy.app import FILE_ROUTES
from shared.settings import Settings
from tests.support.ocs import V2
from tests.support.waits import until

CAP = 1024 * 1024


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[tuple[str, int]]:
    """The api with the file routes on a real port (1 MiB upload cap, 2 s body timeout)."""
    s = settings.model_copy(update={"max_upload_bytes": CAP, "max_body_bytes": CAP,
                                    "body_timeout_seconds": 2.0})
    runner = web.AppRunner(create_app(s, extra_routes=FILE_ROUTES))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield "127.0.0.1", port
    await runner.cleanup()


async def exchange(server: tuple[str, int], head: str, body: bytes = b"",
                   length: int | None = None) -> tuple[int, bytes]:
    """Send one request as raw bytes; (status, response) once the server answers."""
    reader, writer = await asyncio.open_connection(*server)
    cl = f"Content-Length: {len(body) if length is None else length}\r\n"
    writer.write(head.encode("latin-1") + cl.encode() + b"Connection: close\r\n\r\n" + body)
    await writer.drain()
    try:
        data = await asyncio.wait_for(reader.read(), 15)
    finally:
        writer.close()
    return int(data.split(b" ", 2)[1]), data


def request(method: str, path: str, auth: dict[str, str], *headers: str) -> str:
    lines = [f"{method} {V2}{path} HTTP/1.1", "Host: localhost", "OCS-APIRequest: true",
             f"Authorization: {auth['Authorization']}", *headers]
    return "\r\n".join(lines) + "\r\n"


MP = "Content-Type: multipart/form-data; boundary=b"


@pytest.mark.parametrize(("what", "path", "headers", "body", "status"), [
    ("part header without colon", "/files?format=json", [MP],
     b"--b\r\nContent-Disposition form-data\r\n\r\nx\r\n--b--\r\n", 400),
    ("multipart without boundary", "/files?format=json",
     ["Content-Type: multipart/form-data"], b"--b\r\n\r\nx\r\n--b--\r\n", 400),
    ("control character in a part's file name", "/files?format=json", [MP],
     b'--b\r\nContent-Disposition: form-data; name="file"; filename="a\x01b"\r\n\r\nx\r\n--b--'
     b"\r\n", 400),
    ("control character in X-File-Name", "/files?format=json",
     ["Content-Type: application/octet-stream", "X-File-Name: a%00b%0A.txt"], b"abc", 400),
    ("gzip that is not gzip, upload", "/files?format=json",
     ["Content-Type: application/octet-stream", "Content-Encoding: gzip"], b"notgzip", 400),
    ("gzip that is not gzip, JSON", "/schedule?format=json",
     ["Content-Type: application/json", "Content-Encoding: gzip"], b"notgzip", 400),
    ("unknown Content-Encoding", "/files?format=json",
     ["Content-Type: application/octet-stream", "Content-Encoding: zorg"], b"abc", 415),
    ("gzip bomb upload", "/files?format=json",
     ["Content-Type: application/octet-stream", "Content-Encoding: gzip"],
     gzip.compress(b"\0" * (4 * CAP)), 413),
    ("deflate bomb JSON", "/schedule?format=json",
     ["Content-Type: application/json", "Content-Encoding: deflate"],
     zlib.compress(b" " * (4 * CAP)), 413),
    ("broken JSON", "/schedule?format=json", ["Content-Type: application/json"], b"{x", 400),
])
async def test_malformed_body_is_a_4xx(server: tuple[str, int], make_user: Any, what: str,
                                       path: str, headers: list[str], body: bytes,
                                       status: int, caplog: pytest.LogCaptureFixture) -> None:
    auth = await make_user("alice")
    got, data = await exchange(server, request("POST", path, auth, *headers), body)
    assert got == status, (what, data[-300:])
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], what


@pytest.mark.parametrize(("path", "ctype"), [("/files?format=json", "application/octet-stream"),
                                             ("/schedule?format=json", "application/json")])
async def test_declared_length_over_the_cap_is_413_before_the_body(
        server: tuple[str, int], make_user: Any, path: str, ctype: str) -> None:
    auth = await make_user("alice")
    status, _ = await exchange(server, request("POST", path, auth, f"Content-Type: {ctype}"),
                               b"", length=50 * CAP)  # the body is never sent
    assert status == 413


async def test_a_stalled_body_is_cut_off(server: tuple[str, int], make_user: Any) -> None:
    auth = await make_user("alice")
    for path, ctype in (("/files?format=json", "application/octet-stream"),
                        ("/schedule?format=json", "application/json")):
        status, _ = await exchange(server, request("POST", path, auth, f"Content-Type: {ctype}"),
                                   b"{", length=1000)  # 999 bytes never come
        assert status == 408, path


async def test_parser_errors_are_one_short_line(server: tuple[str, int],
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    reader, writer = await asyncio.open_connection(*server)
    writer.write(f"GET {V2}/tasks HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 15)
    writer.close()
    assert data.startswith(b"HTTP/1.") and b" 400 " in data.split(b"\r\n")[0]

    async def logged() -> bool:
        return any("bad request" in r.getMessage() for r in caplog.records)
    await until(logged, timeout=5)
    for r in caplog.records:
        assert r.exc_info is None and r.exc_text is None, r.getMessage()
        assert "\n" not in r.getMessage()


async def test_slow_headers_are_cut_off(settings: Settings) -> None:
    """A client that never finishes its headers (slowloris) is disconnected."""
    from shared.http.serve import server_options
    s = settings.model_copy(update={"header_timeout_seconds": 1.0})
    runner = web.AppRunner(create_app(s), **server_options(s))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /ocs/v2.php/taskprocessing/tasks HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 15) == b""  # closed, nothing answered
        writer.close()
    finally:
        await runner.cleanup()
