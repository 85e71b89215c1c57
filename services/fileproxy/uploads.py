"""Upload routes: providers' output files (`POST /tasks_provider/{taskId}/file`) and users'
input files (an extension).

Bodies are streamed into the file store in constant memory: multipart (field `file`) part by
part, or a raw body. Past the size cap the upload is refused with 413; a cut-off or refused
upload leaves nothing stored (FileStore.put_stream writes a temporary file first).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from email.message import Message
from typing import NamedTuple
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from shared.errors import (
    BadRequest,
    InsufficientStorage,
    NotFound,
    NotLoggedIn,
    PayloadTooLarge,
)
from shared.filestore import FileRecord
from shared.http import ocs
from shared.http.context import SERVICES
from shared.http.guard import idle_limited, safe_name
from shared.http.params import params, path_id
from shared.http.security import principal

CHUNK = 256 * 1024
QUOTA = "The upload would exceed your storage quota"
NAME_HEADER = "X-File-Name"
"""Raw-body uploads: the file's name, percent-encoded (or Content-Disposition's filename)."""
INTERRUPTED = (ConnectionError, EOFError)
BROKEN = (HttpProcessingError, RequestPayloadError, ValueError)
"""aiohttp's errors for a body that does not decode or a multipart it cannot parse."""


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


async def _file_part(request: web.Request) -> BodyPartReader:
    """The multipart field `file`; other fields are read past without being kept."""
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == "file":
                return part
            await part.release()
    except BROKEN as exc:
        raise BadRequest("Malformed multipart body") from exc
    raise BadRequest("Bad request")


def _raw_name(request: web.Request) -> str:
    if name := request.headers.get(NAME_HEADER, ""):
        return unquote(name)
    if cd := request.headers.get("Content-Disposition", ""):
        msg = Message()
        msg["Content-Disposition"] = cd
        return str(msg.get_filename() or "")
    return ""


def _generated_name() -> str:
    """Nextcloud's name for an anonymous upload: `<unix time>-<random>`."""
    return f"{int(time.time())}-{secrets.randbelow(100000) + 1}"


class _Incoming(NamedTuple):
    """An upload's bytes as they arrive, its file name and its declared type."""

    chunks: AsyncIterator[bytes]
    name: str
    mime: str | None


async def _room(request: web.Request, owner: str, cap: int) -> int:
    """Bytes this upload may take: `cap`, or less where the owner's quota has less room left."""
    settings, files = request.app[SERVICES].settings, request.app[SERVICES].files
    if not owner or settings.max_user_bytes <= 0:
        return cap
    room = settings.max_user_bytes - await files.used_bytes(owner)
    if room <= 0 or (request.content_length or 0) > room:
        raise InsufficientStorage(QUOTA)
    return room


async def _incoming(request: web.Request, cap: int, raw_ok: bool) -> _Incoming:
    """The multipart field `file`, or (where `raw_ok`) the raw body, refused past `cap`."""
    if request.content_type.startswith("multipart/"):
        part = await _file_part(request)
        return _Incoming(_part_chunks(part), safe_name(part.filename or ""),
                         part.headers.get("Content-Type"))
    if not (raw_ok and request.body_exists):
        raise BadRequest("Bad request")
    if (request.content_length or 0) > cap:
        raise PayloadTooLarge(f"The file is larger than {cap} bytes")
    return _Incoming(request.content.iter_chunked(CHUNK), safe_name(_raw_name(request)),
                     request.headers.get("Content-Type"))


async def _store(request: web.Request, *, owner: str, origin: str,
                 raw_ok: bool) -> FileRecord:
    svc = request.app[SERVICES]
    cap = svc.settings.max_upload_bytes
    room = await _room(request, owner, cap)
    upload = await _incoming(request, cap, raw_ok)
    try:
        return await svc.files.put_stream(
            idle_limited(upload.chunks, svc.settings.body_timeout_seconds), owner=owner,
            name=upload.name or _generated_name(), origin=origin, max_bytes=min(cap, room),
            mime=upload.mime)
    except PayloadTooLarge as exc:
        if room < cap:
            raise InsufficientStorage(QUOTA) from exc
        raise
    except INTERRUPTED as exc:
        raise BadRequest("The upload was interrupted") from exc
    except BROKEN as exc:
        raise BadRequest("The upload could not be decoded") from exc


async def provider_upload(request: web.Request) -> web.Response:
    """POST /tasks_provider/{taskId}/file: 201 {"fileId": n}, linked once a result names it."""
    svc = request.app[SERVICES]
    if await svc.tasks.get(path_id(request, "taskId")) is None:
        raise NotFound("Not found")
    record = await _store(request, owner="", origin="output", raw_ok=False)
    return ocs.render(request, 201, {"fileId": record.id}, params=params(request))


async def user_upload(request: web.Request) -> web.Response:
    """POST /files (extension): 201 {"fileId": n}, owned by the caller, for file input slots."""
    who = principal(request)
    if who.user_id is None:  # an ExApp without a user: there is nobody to own the file
        raise NotLoggedIn()
    record = await _store(request, owner=who.user_id, origin="upload", raw_ok=True)
    return ocs.render(request, 201, {"fileId": record.id}, params=params(request))
