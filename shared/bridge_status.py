"""What `taskproc stats` shows of the bridge role: the Nextcloud tasks held, and its instances.

The bridge (services/bridge) writes `{p}:bridge:instances` and `{p}:bridge:leases`; this reader
lives in shared so the CLI needs no role's code.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from redis.asyncio import Redis

from shared.keys import Keys


async def bridge_status(redis: Redis, keys: Keys,
                        max_age: float = 60.0) -> tuple[int, list[dict[str, Any]]]:
    """(Nextcloud tasks held, instances seen within `max_age` s) for `taskproc stats`; older
    lines are removed."""
    held = int(await redis.zcard(keys.bridge_leases))
    rows = await redis.hgetall(keys.bridge_instances)  # type: ignore[misc]
    now = time.time()
    live: list[dict[str, Any]] = []
    stale: list[dict[str, Any]] = []
    for k, v in rows.items():
        row = orjson.loads(v) | {"instance": k.decode()}
        (live if now - float(row.get("seen", 0)) <= max_age else stale).append(row)
    if stale:
        await redis.hdel(keys.bridge_instances, *(r["instance"] for r in stale))  # type: ignore[misc]
    return held, sorted(live, key=lambda r: str(r["instance"]))
