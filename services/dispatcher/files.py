"""File access of in-process providers: inputs of their task, outputs into the store."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from services.dispatcher.provider_interface import InvalidOutput, ProviderError
from shared.filestore import FileStore
from shared.keys import Keys
from shared.tasks import Task
from shared.validation import OUTPUT_INVALID_MESSAGE


class DispatcherFiles:
    """The dispatcher's view of the file store."""

    def __init__(self, store: FileStore, redis: Redis, keys: Keys) -> None:
        self.store = store
        self.redis = redis
        self.keys = keys

    async def path_for_task(self, task: Task, file_id: int) -> Path:
        """The local path of a file this task references."""
        linked = await self.redis.sismember(self.keys.task_files(task.id), str(file_id))  # type: ignore[misc]
        record = await self.store.get(file_id) if linked else None
        if record is None:
            raise ProviderError(f"task {task.id} does not reference file {file_id}",
                                "An input file of the task could not be found")
        return self.store.path(file_id)

    async def store_output(self, task: Task, data: bytes | bytearray | Path, name: str) -> int:
        """Store an output file (linked to the task when its result is stored)."""
        name = f"{task.id}-{name}"
        try:
            if isinstance(data, Path):
                rec = await self.store.put_path(data, owner="", name=name, origin="output")
            else:
                rec = await self.store.put_bytes(bytes(data), owner="", name=name,
                                                 origin="output")
        except OSError as exc:  # e.g. a returned Path that does not exist: invalid output
            raise InvalidOutput(OUTPUT_INVALID_MESSAGE) from exc
        return rec.id

    async def check_outputs(self, file_ids: list[int]) -> None:
        for fid in file_ids:
            if await self.store.get(fid) is None:
                raise InvalidOutput(OUTPUT_INVALID_MESSAGE)
