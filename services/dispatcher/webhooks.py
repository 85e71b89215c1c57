"""Webhooks with Nextcloud's semantics (its TaskProcessing Manager::runWebhook):
`{"task": …}` as JSON, 30 s timeout,
no retries, errors only logged. Fired after a result and after a cancel.
"""

from __future__ import annotations

import logging

import aiohttp

from shared.store import TaskStore

log = logging.getLogger(__name__)
HTTP_METHODS = {"HTTP:GET": "GET", "HTTP:POST": "POST", "HTTP:PUT": "PUT",
                "HTTP:DELETE": "DELETE"}


async def fire_webhook(store: TaskStore, session: aiohttp.ClientSession, task_id: int,
                       timeout: float) -> None:
    task = await store.get(task_id)
    if task is None:
        return
    if task.webhook is None:
        return
    uri, method = task.webhook
    if method.startswith("AppAPI:"):
        log.warning("task %s: AppAPI webhooks (%s) are not supported; skipped", task_id, method)
        return
    verb = HTTP_METHODS.get(method)
    if verb is None:
        return
    try:
        async with session.request(verb, uri, json={"task": task.to_json()},
                                   timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            await resp.read()
            if resp.status >= 400:
                log.warning("task %s: webhook %s %s answered %s", task_id, verb, uri, resp.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("task %s: webhook %s %s failed: %r", task_id, verb, uri, exc)
