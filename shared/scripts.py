"""The Lua scripts that make every task state change atomic (shipped in shared/lua/).

Each script is loaded behind the prelude (common.lua, arq.lua, state.lua: key helpers, the
shared claim, lease and finish steps) and answers one shape, `{code, task, data}`, read here
into a `Reply`. docs/redis.md lists the transitions; tests/state/test_transitions.py runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from shared.keys import Keys
from shared.tasks import Task

PRELUDE = ("common", "arq", "state")
NAMES = ("schedule", "claim", "claim_next", "renew", "progress", "result", "cancel", "delete",
         "release", "requeue", "expire", "rescue", "pickup", "idle")


class Code(StrEnum):
    """What a script did: changed the task, or why not."""

    OK = "ok"
    GONE = "gone"        # no such task, or not the caller's
    REFUSED = "refused"  # the task's state or the lease fence refuses the change


@dataclass(frozen=True)
class Reply:
    code: Code
    task: Task | None
    data: list[Any]

    @property
    def ok(self) -> bool:
        return self.code is Code.OK


def text(v: bytes | str | int) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def source(name: str) -> str:
    return resources.files("shared").joinpath(f"lua/{name}.lua").read_text()


class Scripts:
    """Each script registered once per client; `await scripts.task(name, id, *argv)` for a
    script that acts on one task, `await scripts.run(name, keys, *argv)` for the others."""

    def __init__(self, redis: Redis, keys: Keys, hooks_queue: str | None = None) -> None:
        prelude = "\n".join(source(n) for n in PRELUDE)
        self.keys = keys
        self.fixed = [keys.leases, keys.tasks_updated, keys.queue, hooks_queue or keys.hooks_queue,
                      keys.files_unreferenced]
        self._scripts: dict[str, AsyncScript] = {
            n: redis.register_script(prelude + "\n" + source(n)) for n in NAMES}

    async def run(self, name: str, keys: list[str], *argv: Any) -> Reply:
        raw = await self._scripts[name](keys=[*self.fixed, *keys], args=[self.keys.p, *argv])
        code, task, data = raw
        return Reply(Code(text(code)), Task.from_redis(task) if task else None, data)

    async def task(self, name: str, task_id: int, *argv: Any) -> Reply:
        """Run a script on one task: its hash and files set are KEYS[6] and KEYS[7]."""
        keys = [self.keys.task(task_id), self.keys.task_files(task_id)]
        return await self.run(name, keys, task_id, *argv)
