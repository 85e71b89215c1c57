"""The ProviderContext the dispatcher hands to a provider for one task."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from services.dispatcher.files import DispatcherFiles
from shared.redis import REDIS_DOWN
from shared.store import TaskStore
from shared.tasks import Task

PROGRESS_INTERVAL = 0.25
"""Seconds between stored progress reports (a provider may report per token)."""


class TaskContext:
    """Progress, cancellation and file access for one claimed task."""

    def __init__(self, store: TaskStore, files: DispatcherFiles, lease_ms: int, task: Task,
                 token: str) -> None:
        self._store, self._files, self._lease_ms = store, files, lease_ms
        self.task = task
        self.task_id = task.id
        self.user_id = task.user_id
        self.include_watermark = task.include_watermark
        self.token = token
        self._last_report = 0.0

    async def progress(self, fraction: float) -> None:
        """Store progress (throttled); a task no longer running cancels the caller. Progress is
        best effort: while Redis is unreachable the report is skipped, the work goes on."""
        fraction = min(1.0, max(0.0, float(fraction)))
        now = time.monotonic()
        if now - self._last_report < PROGRESS_INTERVAL and fraction < 1.0:
            return
        self._last_report = now
        try:
            change = await self._store.progress(self.task_id, fraction, token=self.token,
                                                lease_ms=self._lease_ms)
        except REDIS_DOWN:
            return
        if change is None or not change.applied:  # cancelled, deleted or claimed again
            raise asyncio.CancelledError()

    async def read_file(self, file_id: int) -> Path:
        return await self._files.path_for_task(self.task, file_id)

    async def write_file(self, data: bytes | Path, name: str = "output") -> int:
        return await self._files.store_output(self.task, data, name)
