"""What the bridge holds, in Redis: each Nextcloud task it claimed, its local task, its holder.

A Nextcloud task is held by one bridge instance at a time, under a lease the holder renews.
When a holder dies (SIGKILL, lost host) its leases run out and any replica adopts the tasks,
so a claimed Nextcloud task is never dropped and never run twice: the local task id recorded
here is reused, and `customId` `nc:<id>` finds a local task scheduled just before a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from shared.keys import Keys


def _script(redis: Redis, name: str) -> AsyncScript:
    source = resources.files("services.bridge").joinpath(f"lua/{name}.lua").read_text()
    return redis.register_script(source)


@dataclass(frozen=True)
class Held:
    """A Nextcloud task the bridge holds."""

    nc_id: int
    nc_task: dict[str, Any]
    provider_id: str
    local_id: int | None
    scheduling: bool
    """A local task may have been scheduled without its id being recorded (crash in between)."""

    @property
    def task_type(self) -> str:
        return str(self.nc_task.get("type", ""))

    @property
    def custom_id(self) -> str:
        return f"nc:{self.nc_id}"


class BridgeState:
    """Holds, adoptions, lease renewals and the local task id of each held Nextcloud task."""

    def __init__(self, redis: Redis, keys: Keys, instance: str, lease_ms: int) -> None:
        self.redis, self.keys, self.instance, self.lease_ms = redis, keys, instance, lease_ms
        self._reserve = _script(redis, "reserve")
        self._adopt = _script(redis, "adopt")
        self._renew = _script(redis, "renew")
        self._finish = _script(redis, "finish")

    async def reserve(self, nc_task: dict[str, Any], provider_id: str) -> bool:
        nc_id = int(nc_task["id"])
        return bool(await self._reserve(
            keys=[self.keys.bridge_task(nc_id), self.keys.bridge_leases],
            args=[nc_id, orjson.dumps(nc_task), provider_id, self.instance, self.lease_ms]))

    async def adopt(self, nc_id: int) -> bool:
        return bool(await self._adopt(
            keys=[self.keys.bridge_task(nc_id), self.keys.bridge_leases],
            args=[nc_id, self.instance, self.lease_ms]))

    async def renew(self, nc_ids: list[int]) -> list[int]:
        """Renew the holds; returns the ids this instance lost."""
        if not nc_ids:
            return []
        lost = await self._renew(
            keys=[self.keys.bridge_leases, *(self.keys.bridge_task(i) for i in nc_ids)],
            args=[self.instance, self.lease_ms, *nc_ids])
        return [int(i) for i in lost]

    async def finish(self, nc_id: int) -> bool:
        return bool(await self._finish(keys=[self.keys.bridge_task(nc_id),
                                             self.keys.bridge_leases],
                                       args=[nc_id, self.instance]))

    async def expired(self, limit: int = 100) -> list[int]:
        """Held tasks whose lease ran out: candidates for adoption."""
        now_s, now_us = await self.redis.time()
        now_ms = int(now_s) * 1000 + int(now_us) // 1000
        ids = await self.redis.zrangebyscore(self.keys.bridge_leases, "-inf", now_ms,
                                             start=0, num=limit)
        return [int(i) for i in ids]

    async def load(self, nc_id: int) -> Held | None:
        raw = await self.redis.hgetall(self.keys.bridge_task(nc_id))  # type: ignore[misc]
        if not raw:
            return None
        d = {k.decode(): v.decode() for k, v in raw.items()}
        local = d.get("local")
        return Held(nc_id, orjson.loads(d["nc"]), d.get("provider", ""),
                    int(local) if local else None, d.get("scheduling") == "1")

    async def mark_scheduling(self, nc_id: int) -> None:
        await self.redis.hset(self.keys.bridge_task(nc_id), "scheduling", "1")  # type: ignore[misc]

    async def set_local(self, nc_id: int, local_id: int) -> None:
        await self.redis.hset(self.keys.bridge_task(nc_id),  # type: ignore[misc]
                              mapping={"local": local_id, "scheduling": "0"})

    async def count(self) -> int:
        return int(await self.redis.zcard(self.keys.bridge_leases))

    async def set_enabled(self, enabled: bool) -> None:
        await self.redis.set(self.keys.bridge_enabled, "1" if enabled else "0")

    async def enabled(self) -> bool:
        return bool(await self.redis.get(self.keys.bridge_enabled) == b"1")

    async def publish_status(self, status: dict[str, Any]) -> None:
        """This instance's line in `taskproc stats`; `seen` (unix s) tells readers its age."""
        await self.redis.hset(self.keys.bridge_instances, self.instance,  # type: ignore[misc]
                              orjson.dumps(status).decode())
