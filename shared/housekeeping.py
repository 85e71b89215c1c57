"""Removing old tasks: the dispatchers' periodic job and `taskproc task cleanup` share this."""

from __future__ import annotations

from shared.filestore import FileStore
from shared.store import OPERATOR, TaskStore


async def delete_old_tasks(store: TaskStore, files: FileStore, cutoff: int, *,
                           dry_run: bool = False, batch: int = 500) -> int:
    """Delete tasks last updated before `cutoff` (unix seconds), with their index entries and
    output files; returns how many went (or, with dry_run, would go).

    Tasks with allowCleanup=false are kept and leave the age index, so batches always advance.
    """
    if dry_run:
        ids = await store.old_task_ids(cutoff, 10**9)
        tasks = [await store.get(i) for i in ids]
        return sum(1 for t in tasks if t is not None and t.allow_cleanup)
    deleted = 0
    while ids := await store.old_task_ids(cutoff, batch):
        for task_id in ids:
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
