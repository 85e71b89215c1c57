"""Send a stored file: validators, Range, HEAD, and the bytes through sendfile(2).

The body goes from the page cache to the socket with `loop.sendfile`, so a download of any size
costs the process no memory; without sendfile (TLS in-process) it is copied in CHUNK blocks,
each written with backpressure.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from email.utils import formatdate
from pathlib import Path
from typing import IO
from urllib.parse import quote

from aiohttp import web

from services.fileproxy.conditional import Plan, plan
from shared.errors import NotFound
from shared.filestore import FileRecord

log = logging.getLogger(__name__)
CHUNK = 256 * 1024


def download_name(rec: FileRecord) -> str:
    """The stored name, with an extension from the MIME type when it has none (outputs are
    named after their task and slot, e.g. `12-speech`)."""
    name = rec.name.replace("\r", "").replace("\n", "") or "file"
    if "." not in name.rsplit("/", 1)[-1]:
        name += mimetypes.guess_extension(rec.mime) or ""
    return name


def disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 5987 form."""
    ascii_name = name.encode("ascii", "replace").decode().replace("\\", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _headers(resp: web.StreamResponse, rec: FileRecord, p: Plan) -> None:
    h = resp.headers
    h["ETag"] = rec.etag
    h["Last-Modified"] = formatdate(rec.created, usegmt=True)
    h["Accept-Ranges"] = "bytes"
    h["Cache-Control"] = "no-cache, no-store, must-revalidate"  # as Nextcloud 34
    if p.status in (304, 412):
        return
    h["X-Content-Type-Options"] = "nosniff"
    h["Content-Disposition"] = disposition(download_name(rec))
    if p.status == 416:
        h["Content-Range"] = f"bytes */{rec.size}"
        return
    resp.content_type = rec.mime
    if p.status == 206:
        h["Content-Range"] = f"bytes {p.start}-{p.start + p.length - 1}/{rec.size}"


async def send_file(request: web.Request, rec: FileRecord, path: Path) -> web.StreamResponse:
    """Answer GET or HEAD for `rec`, whose bytes are at `path`."""
    p = plan(request.headers, rec.size, rec.etag, rec.created)
    fobj: IO[bytes] | None = None
    if p.has_body and request.method != "HEAD":
        try:
            fobj = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError as exc:
            log.error("file %s has metadata but no bytes at %s", rec.id, path)
            raise NotFound("Not found") from exc
    resp = web.StreamResponse(status=p.status)
    _headers(resp, rec, p)
    if p.status != 304:
        resp.content_length = p.length
    try:
        await resp.prepare(request)
        if fobj is not None:
            await _body(request, resp, fobj, p.start, p.length)
        await resp.write_eof()
    except ConnectionError:
        log.debug("client left during the download of file %s", rec.id)
    finally:
        if fobj is not None:
            fobj.close()  # not in a thread: an await here could be cancelled and leak the file
    return resp


async def _body(request: web.Request, resp: web.StreamResponse, fobj: IO[bytes], offset: int,
                count: int) -> None:
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("Connection lost")
    try:
        await asyncio.get_running_loop().sendfile(transport, fobj, offset, count)
    except NotImplementedError:
        await _copy(resp, fobj, offset, count)


async def _copy(resp: web.StreamResponse, fobj: IO[bytes], offset: int, count: int) -> None:
    await asyncio.to_thread(fobj.seek, offset)
    while count > 0:
        chunk = await asyncio.to_thread(fobj.read, min(CHUNK, count))
        if not chunk:
            raise ConnectionResetError("file shorter than its record")
        await resp.write(chunk)
        count -= len(chunk)
