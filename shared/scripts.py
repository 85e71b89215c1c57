"""The Lua scripts that make every task state change atomic (shipped in shared/lua/)."""

from __future__ import annotations

from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

NAMES = ("schedule", "claim", "renew", "progress", "result", "cancel", "delete", "expire",
         "release",
         "rescue", "requeue", "claim_next")


def _source(name: str) -> str:
    return resources.files("shared").joinpath(f"lua/{name}.lua").read_text()


class Scripts:
    """Each script registered once per client; `await scripts.run(name, *argv)`."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        common = _source("common")
        self.prefix = prefix
        self._scripts: dict[str, AsyncScript] = {
            n: redis.register_script(common + "\n" + _source(n)) for n in NAMES}

    async def run(self, name: str, *argv: Any) -> Any:
        return await self._scripts[name](keys=[], args=[self.prefix, *argv])
