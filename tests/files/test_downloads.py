"""Downloads over HTTP: ranges, validators, HEAD, headers (and If-Range done right)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from shared.http.context import SERVICES
from tests.support.ocs import V2, upload

DATA = os.urandom(300_000)


@pytest.fixture
async def url_and_headers(proxy: Any, make_user: Any, make_task: Any) -> tuple[str, Any]:
    alice = await make_user("alice")
    fid = await upload(proxy, alice, DATA, "Bericht über Café \"2\".bin")
    tid = await make_task("alice", [fid])
    return f"{V2}/tasks/{tid}/file/{fid}", alice


async def test_full_download_headers(proxy: Any, url_and_headers: tuple[str, Any]) -> None:
    url, alice = url_and_headers
    resp = await proxy.get(url, headers=alice)
    assert resp.status == 200 and await resp.read() == DATA
    h = resp.headers
    assert h["Content-Length"] == str(len(DATA)) and h["Accept-Ranges"] == "bytes"
    assert h["Content-Type"] == "application/octet-stream"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Content-Disposition"] == (
        "attachment; filename=\"Bericht ?ber Caf? _2_.bin\"; "
        "filename*=UTF-8''Bericht%20%C3%BCber%20Caf%C3%A9%20%222%22.bin")
    assert h["ETag"].startswith('"') and "Last-Modified" in h


async def test_head(proxy: Any, url_and_headers: tuple[str, Any]) -> None:
    url, alice = url_and_headers
    resp = await proxy.head(url, headers=alice)
    assert resp.status == 200 and await resp.read() == b""
    assert resp.headers["Content-Length"] == str(len(DATA))
    resp = await proxy.head(url, headers=alice | {"Range": "bytes=-10"})
    assert resp.status == 206 and resp.headers["Content-Length"] == "10"


@pytest.mark.parametrize(("rng", "start", "end"), [
    ("bytes=0-0", 0, 0), ("bytes=100-199", 100, 199), ("bytes=299990-", 299990, 299999),
    ("bytes=-1000", 299000, 299999), ("bytes=299000-999999", 299000, 299999)])
async def test_ranges(proxy: Any, url_and_headers: tuple[str, Any], rng: str, start: int,
                      end: int) -> None:
    url, alice = url_and_headers
    resp = await proxy.get(url, headers=alice | {"Range": rng})
    assert resp.status == 206
    assert await resp.read() == DATA[start:end + 1]
    assert resp.headers["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"


async def test_unsatisfiable_range(proxy: Any, url_and_headers: tuple[str, Any]) -> None:
    url, alice = url_and_headers
    resp = await proxy.get(url, headers=alice | {"Range": f"bytes={len(DATA)}-"})
    assert resp.status == 416 and resp.headers["Content-Range"] == f"bytes */{len(DATA)}"
    assert await resp.read() == b""


async def test_conditionals(proxy: Any, url_and_headers: tuple[str, Any]) -> None:
    url, alice = url_and_headers
    first = await proxy.get(url, headers=alice)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    resp = await proxy.get(url, headers=alice | {"If-None-Match": etag})
    assert resp.status == 304 and await resp.read() == b"" and resp.headers["ETag"] == etag
    resp = await proxy.get(url, headers=alice | {"If-Modified-Since": modified})
    assert resp.status == 304
    resp = await proxy.get(url, headers=alice | {"If-Match": '"nope"'})
    assert resp.status == 412
    resp = await proxy.get(url, headers=alice | {"If-Range": etag, "Range": "bytes=0-9"})
    assert resp.status == 206 and await resp.read() == DATA[:10]
    resp = await proxy.get(url, headers=alice | {"If-Range": modified, "Range": "bytes=0-9"})
    assert resp.status == 206


async def test_stale_if_range_etag_sends_the_whole_file(
        proxy: Any, url_and_headers: tuple[str, Any]) -> None:
    """aiohttp's FileResponse would answer 206 here (it compares If-Range only as a date); the
    resumed file would be wrong."""
    url, alice = url_and_headers
    resp = await proxy.get(url, headers=alice | {"If-Range": '"stale"', "Range": "bytes=0-9"})
    assert resp.status == 200 and await resp.read() == DATA


async def test_missing_bytes_are_404(proxy: Any, url_and_headers: tuple[str, Any]) -> None:
    url, alice = url_and_headers
    proxy.server.app[SERVICES].files.path(int(url.rsplit("/", 1)[1])).unlink()
    resp = await proxy.get(url + "?format=json", headers=alice)
    assert resp.status == 404


async def test_sniffed_mime_type(proxy: Any, make_user: Any, make_task: Any) -> None:
    alice = await make_user("alice")
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    for data, name, mime in ((png, "x.bin", "image/png"), (b"hello", "notes", "text/plain"),
                             (b"<html><script>", "page.html", "text/plain"),
                             (b"\x00\x01\x02", "blob", "application/octet-stream")):
        fid = await upload(proxy, alice, data, name)
        tid = await make_task("alice", [fid])
        resp = await proxy.get(f"{V2}/tasks/{tid}/file/{fid}", headers=alice)
        assert resp.headers["Content-Type"].split(";")[0] == mime, name
