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
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from shared.errors import BadRequest, NotFound, NotLoggedIn
from shared.filestore import FileRecord, FileTooLarge, InsufficientStorage
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


async def _store(request: web.Request, *, owner: str, origin: str,
                 raw_ok: bool) -> FileRecord:
    svc = request.app[SERVICES]
    cap = quota = svc.settings.max_upload_bytes
    if owner and svc.settings.max_user_bytes > 0:
        quota = svc.settings.max_user_bytes - await svc.files.used_bytes(owner)
        if quota <= 0 or (request.content_length or 0) > quota:
            raise InsufficientStorage(QUOTA)
    if request.content_type.startswith("multipart/"):
        part = await _file_part(request)
        chunks, name, mime = _part_chunks(part), safe_name(part.filename or ""), part.headers.get(
            "Content-Type")
    elif raw_ok and request.body_exists:
        if (request.content_length or 0) > cap:
            raise FileTooLarge(f"The file is larger than {cap} bytes")
        chunks, name = request.content.iter_chunked(CHUNK), safe_name(_raw_name(request))
        mime = request.headers.get("Content-Type")
    else:
        raise BadRequest("Bad request")
    try:
        return await svc.files.put_stream(
            idle_limited(chunks, svc.settings.body_timeout_seconds), owner=owner,
            name=name or _generated_name(), origin=origin, max_bytes=min(cap, quota), mime=mime)
    except FileTooLarge as exc:
        if quota < cap:
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
