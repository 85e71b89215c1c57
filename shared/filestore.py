"""The file store: bytes in a directory (a shared volume with several nodes), metadata in Redis.

Writes go to a temporary file that is fsynced and renamed into place, so a crash never leaves
half a file under a real id. Files made by uploads or providers that no task references yet sit
in `{p}:files:unreferenced` until their TTL passes; a task's files go when the task goes.

Deleting a file drops its record and queues its bytes in `{p}:files:doomed` in one transaction.
A process that sees the bytes (the fileproxy, a dispatcher) removes them at once; one that does
not (the api mounts no files volume) leaves them queued, and the dispatchers' purge loop, which
always has the store, removes them within seconds. No deleted file's bytes stay behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import mimetypes
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import filetype
from redis.asyncio import Redis

from shared.errors import BadRequest, InsufficientStorage, PayloadTooLarge, Unauthorized
from shared.keys import Keys

CHUNK = 1024 * 1024
"""Bytes handed to the writer thread at once: bounds memory per upload."""
OCTET = "application/octet-stream"
_UNSAFE_BY_NAME = ("text/html", "image/svg+xml", "application/xhtml+xml", "text/javascript",
                   "application/javascript", "application/xml", "text/xml")
NO_ACCESS = "User does not have access to the files mentioned in the task input"


NO_SPACE = "Not enough storage space on the server to store the file"


@dataclass(frozen=True)
class FileRecord:
    id: int
    owner: str
    size: int
    sha256: str
    mime: str
    name: str
    created: int
    origin: str
    """upload (a user's), output (a provider's)."""

    @classmethod
    def from_redis(cls, raw: dict[bytes, bytes]) -> FileRecord:
        d = {k.decode(): v.decode() for k, v in raw.items()}
        return cls(int(d["id"]), d.get("owner", ""), int(d["size"]), d["sha256"], d["mime"],
                   d.get("name", ""), int(d["created"]), d.get("origin", "upload"))

    @property
    def etag(self) -> str:
        """A strong validator: the bytes under an id never change, so the digest is enough."""
        return f'"{self.sha256[:32]}"'


def sniff(head: bytes, fallback: str = OCTET, name: str = "") -> str:
    """The MIME type from the content's magic bytes, else from a harmless file name extension,
    else text/plain for UTF-8 text, else `fallback` (never a type a browser would render)."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    by_name = mimetypes.guess_type(name)[0] if name else None
    if by_name is not None and by_name not in _UNSAFE_BY_NAME:
        return by_name
    if _looks_like_text(head):
        return "text/plain"
    return fallback if fallback not in _UNSAFE_BY_NAME else OCTET


def _looks_like_text(head: bytes) -> bool:
    """UTF-8 without NUL bytes (a character cut at the end of the head still counts)."""
    if not head or b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3
    return True


class FileStore:
    """Files under `root/<id % 256>/<id>`; metadata at `{p}:file:{id}`."""

    def __init__(self, root: Path, redis: Redis, keys: Keys, ttl_seconds: int) -> None:
        self.root = Path(root)
        self.redis = redis
        self.keys = keys
        self.ttl = ttl_seconds

    def path(self, file_id: int) -> Path:
        return self.root / f"{file_id % 256:02x}" / str(file_id)

    async def get(self, file_id: int) -> FileRecord | None:
        raw = await self.redis.hgetall(self.keys.file(file_id))  # type: ignore[misc]
        return FileRecord.from_redis(raw) if raw else None

    async def put_stream(self, chunks: AsyncIterator[bytes], *, owner: str, name: str,
                         origin: str, max_bytes: int, mime: str | None = None) -> FileRecord:
        """Store a stream; raises PayloadTooLarge past max_bytes. Nothing stays on any failure."""
        tmp_dir = self.root / "tmp"
        await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
        tmp = tmp_dir / uuid.uuid4().hex
        fh = await asyncio.to_thread(open, tmp, "wb")
        try:
            size, sha, head = await self._write_all(fh, chunks, max_bytes)
            await asyncio.to_thread(_sync_close, fh)
            file_id = int(await self.redis.incr(self.keys.file_seq))
            dest = self.path(file_id)
            await asyncio.to_thread(_move, tmp, dest)
        except OSError as exc:
            await asyncio.to_thread(_discard, fh, tmp)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InsufficientStorage(NO_SPACE) from exc
            raise
        except BaseException:
            await asyncio.to_thread(_discard, fh, tmp)
            raise
        record = FileRecord(file_id, owner, size, sha, sniff(head, mime or OCTET, name),
                            name[:255], int(time.time()), origin)
        await self._save(record)
        return record

    async def _write_all(self, fh: IO[bytes], chunks: AsyncIterator[bytes],
                         max_bytes: int) -> tuple[int, str, bytes]:
        """Copy in batches of about CHUNK bytes, hashing and writing in a thread."""
        size, sha, head, buf = 0, hashlib.sha256(), b"", bytearray()
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"The file is larger than {max_bytes} bytes")
            if len(head) < 8192:
                head += chunk[:8192 - len(head)]
            buf += chunk
            if len(buf) >= CHUNK:
                await asyncio.to_thread(_hash_write, fh, sha, bytes(buf))
                buf.clear()
        if buf:
            await asyncio.to_thread(_hash_write, fh, sha, bytes(buf))
        return size, sha.hexdigest(), head

    async def put_bytes(self, data: bytes, *, owner: str, name: str, origin: str) -> FileRecord:
        async def one() -> AsyncIterator[bytes]:
            for i in range(0, len(data), CHUNK):
                yield data[i:i + CHUNK]
        return await self.put_stream(one(), owner=owner, name=name, origin=origin,
                                     max_bytes=len(data))

    async def put_path(self, src: Path, *, owner: str, name: str, origin: str) -> FileRecord:
        async def chunks() -> AsyncIterator[bytes]:
            with open(src, "rb") as f:  # noqa: ASYNC230 - reads below are off the loop
                while block := await asyncio.to_thread(f.read, CHUNK):
                    yield block
        return await self.put_stream(chunks(), owner=owner, name=name, origin=origin,
                                     max_bytes=2**63)

    async def _save(self, r: FileRecord) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.file(r.id), mapping={
                "id": r.id, "owner": r.owner, "size": r.size, "sha256": r.sha256,
                "mime": r.mime, "name": r.name, "created": r.created, "origin": r.origin})
            pipe.zadd(self.keys.files_unreferenced, {str(r.id): time.time() + self.ttl})
            if r.owner:
                pipe.incrby(self.keys.user_bytes(r.owner), r.size)
            await pipe.execute()

    async def used_bytes(self, owner: str) -> int:
        """Bytes of the files `owner` has stored (their uploads)."""
        return max(0, int(await self.redis.get(self.keys.user_bytes(owner)) or 0))

    async def delete(self, file_ids: list[int]) -> None:
        """Remove records now; bytes now where this process sees them, else by `purge()`."""
        if not file_ids:
            return
        await self._drop_records(file_ids, await self._owned_sizes(file_ids))
        gone = [fid for fid in file_ids if await asyncio.to_thread(_unlink, self.path(fid))]
        if gone:
            await self.redis.srem(self.keys.files_doomed, *map(str, gone))  # type: ignore[misc]

    async def _owned_sizes(self, file_ids: list[int]) -> list[tuple[str, int]]:
        """(owner, size) of each of these files that a user owns."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for fid in file_ids:
                pipe.hmget(self.keys.file(fid), ["owner", "size"])
            return [(o.decode(), int(n)) for o, n in await pipe.execute() if o and n]

    async def _drop_records(self, file_ids: list[int], owned: list[tuple[str, int]]) -> None:
        """One transaction: the records go, the owners' byte counts drop, the bytes are doomed."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for owner, size in owned:
                pipe.decrby(self.keys.user_bytes(owner), size)
            for fid in file_ids:
                pipe.delete(self.keys.file(fid))
                pipe.zrem(self.keys.files_unreferenced, str(fid))
            pipe.sadd(self.keys.files_doomed, *map(str, file_ids))
            await pipe.execute()

    async def purge(self, limit: int = 500) -> int:
        """Remove the bytes of deleted files; only for a process that holds the store (a
        dispatcher): a missing file counts as removed. Returns how many ids were handled."""
        ids = await self.redis.srandmember(self.keys.files_doomed, limit)  # type: ignore[misc]
        for raw in ids:
            await asyncio.to_thread(_unlink, self.path(int(raw)))
        if ids:
            await self.redis.srem(self.keys.files_doomed, *ids)  # type: ignore[misc]
        return len(ids)

    async def referenced(self, task_id: int, file_id: int) -> bool:
        """Whether a task's input or stored output names this file."""
        return bool(await self.redis.sismember(  # type: ignore[misc]
            self.keys.task_files(task_id), str(file_id)))

    async def check_access(self, file_ids: list[int], user_id: str | None) -> None:
        """For schedule: 400 for an unknown id, 401 unless the user owns every file."""
        if not file_ids:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for fid in file_ids:
                pipe.hmget(self.keys.file(fid), ["id", "owner", "origin"])
            rows = await pipe.execute()
        for fid, (found, _, _) in zip(file_ids, rows, strict=True):
            if found is None:
                raise BadRequest(f"Could not find file {fid}")
        for _, owner, origin in rows:
            if user_id is None or origin != b"upload" or owner.decode() != user_id:
                raise Unauthorized(NO_ACCESS)

    async def release(self, file_ids: list[int]) -> None:
        """A task referencing these files was deleted: drop one reference from each.

        Output files go with their last task; uploads get the unreferenced TTL again.
        """
        doomed = []
        for fid in file_ids:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hincrby(self.keys.file(fid), "refs", -1)
                pipe.hget(self.keys.file(fid), "origin")
                refs, origin = await pipe.execute()
            if refs > 0:
                continue
            if origin == b"upload":
                await self.redis.zadd(self.keys.files_unreferenced,
                                      {str(fid): time.time() + self.ttl})
            else:
                doomed.append(fid)
        await self.delete(doomed)

    async def expire_unreferenced(self, limit: int = 500) -> list[int]:
        """Delete files no task took up within the TTL; returns their ids."""
        ids = [int(i) for i in await self.redis.zrangebyscore(
            self.keys.files_unreferenced, "-inf", time.time(), start=0, num=limit)]
        await self.delete(ids)
        return ids


def _hash_write(fh: IO[bytes], sha: hashlib._Hash, data: bytes) -> None:
    sha.update(data)  # hashlib releases the GIL for large buffers
    fh.write(data)


def _sync_close(fh: IO[bytes]) -> None:
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()


def _move(tmp: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, dest)
    dir_fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _unlink(path: Path) -> bool:
    """Remove a file; False when it was not there."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _discard(fh: IO[bytes], tmp: Path) -> None:
    if not fh.closed:
        with contextlib.suppress(OSError):  # closing flushes, which fails on a full disk too
            fh.close()
    tmp.unlink(missing_ok=True)
