"""Removing old tasks: the dispatchers' periodic job and `taskproc task cleanup` share this."""

from __future__ import annotations

from collections.abc import Callable

from shared.filestore import FileStore
from shared.store import OPERATOR, TaskStore


async def delete_old_tasks(store: TaskStore, files: FileStore, cutoff: int, *,
                           dry_run: bool = False, batch: int = 500,
                           progress: Callable[[int], None] | None = None) -> int:
    """Delete tasks last updated before `cutoff` (unix seconds), with their index entries and
    output files; returns how many went (or, with dry_run, would go). `progress(n)` is called
    after each task looked at (the CLI shows it).

    Tasks with allowCleanup=false are kept and leave the age index, so batches always advance.
    """
    step = progress or (lambda n: None)
    if dry_run:
        ids = await store.old_task_ids(cutoff, 10**9)
        count = 0
        for task_id in ids:
            task = await store.get(task_id)
            count += task is not None and task.allow_cleanup
            step(1)
        return count
    deleted = 0
    while ids := await store.old_task_ids(cutoff, batch):
        for task_id in ids:
            step(1)
            task = await store.get(task_id)
            if task is not None and not task.allow_cleanup:
                await store.redis.zrem(store.keys.tasks_updated, str(task_id))
                continue
            released = await store.delete(task_id, OPERATOR)
            if released is not None:
                deleted += 1
                await files.release(released)
            else:
                await store.redis.zrem(store.keys.tasks_updated, str(task_id))
    return deleted
