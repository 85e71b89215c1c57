"""Which providers are available, which one is preferred per task type, and `/tasktypes`.

Dispatchers register their local providers with a heartbeat expiry; ExApps register theirs
without expiry. The api reads a snapshot to validate and route schedules. Every change bumps
`{p}:providers:gen` in the same transaction, and a cached snapshot is used only while that
generation is unchanged: a registration is seen by every replica as soon as the call that made
it returns. Only heartbeat expiry (a provider that stopped) is noticed by the cache's age.
`/schedule` skips that GET (`unchecked`): its script compares the generation as it writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

from shared.keys import Keys
from shared.provider_spec import ProviderSpec
from shared.shapes import CORE_TASK_TYPES, TaskType, shapes_from_json, shapes_to_json
from shared.tasks import php_numbers


@dataclass
class Snapshot:
    """Available providers, custom task types and preferences at one moment."""

    providers: dict[str, ProviderSpec]
    order: dict[str, float]
    custom_types: dict[str, TaskType]
    preferences: dict[str, str]
    _by_type: dict[str, list[ProviderSpec]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for spec in sorted(self.providers.values(),
                           key=lambda s: (self.order.get(s.id, math.inf), s.id)):
            self._by_type.setdefault(spec.task_type, []).append(spec)

    def task_type(self, type_id: str) -> TaskType | None:
        return self.custom_types.get(type_id) or CORE_TASK_TYPES.get(type_id)

    def preferred(self, type_id: str) -> ProviderSpec | None:
        """The admin's preference if it is available, else the first registered provider."""
        candidates = self._by_type.get(type_id, [])
        wanted = self.preferences.get(type_id)
        for spec in candidates:
            if spec.id == wanted:
                return spec
        return candidates[0] if candidates else None

    def available(self) -> dict[str, tuple[TaskType, ProviderSpec]]:
        out = {}
        for type_id in self._by_type:
            tt, spec = self.task_type(type_id), self.preferred(type_id)
            if tt is not None and spec is not None:
                out[type_id] = (tt, spec)
        return out


class ProviderRegistry:
    """Provider registrations in Redis (`{p}:providers`, `{p}:providers:alive`)."""

    def __init__(self, redis: Redis, keys: Keys, preferences: dict[str, str] | None = None,
                 cache_seconds: float = 1.0) -> None:
        self.redis = redis
        self.keys = keys
        self.default_preferences = dict(preferences or {})
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, int, Snapshot] | None = None
        self._refresh: asyncio.Task[None] | None = None

    async def register(self, spec: ProviderSpec, ttl_seconds: float | None) -> None:
        """Announce a provider; ttl None keeps it until unregistered (ExApps)."""
        existing = await self.redis.hget(self.keys.providers, spec.id)  # type: ignore[misc]
        registered = orjson.loads(existing).get("registered_at") if existing else None
        data = spec.to_json() | {"registered_at": registered or time.time()}
        expiry = "+inf" if ttl_seconds is None else (time.time() + ttl_seconds) * 1000
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.providers, spec.id, orjson.dumps(data).decode())
            pipe.zadd(self.keys.providers_alive, {spec.id: expiry})
            pipe.incr(self.keys.providers_gen)
            await pipe.execute()
        self._cached = None

    async def heartbeat(self, provider_ids: list[str], ttl_seconds: float) -> None:
        if provider_ids:
            expiry = (time.time() + ttl_seconds) * 1000
            await self.redis.zadd(self.keys.providers_alive, dict.fromkeys(provider_ids, expiry))

    async def unregister(self, provider_id: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.providers, provider_id)
            pipe.zrem(self.keys.providers_alive, provider_id)
            pipe.incr(self.keys.providers_gen)
            removed, _, _ = await pipe.execute()
        self._cached = None
        return bool(removed)

    async def set_custom_type(self, tt: TaskType) -> None:
        data = {"id": tt.id, "name": tt.name, "description": tt.description,
                "input_shape": shapes_to_json(tt.input_shape),
                "output_shape": shapes_to_json(tt.output_shape)}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.tasktypes_custom, tt.id, orjson.dumps(data).decode())
            pipe.incr(self.keys.providers_gen)
            await pipe.execute()
        self._cached = None

    async def set_preference(self, type_id: str, provider_id: str | None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            if provider_id:
                pipe.hset(self.keys.preferences, type_id, provider_id)
            else:
                pipe.hdel(self.keys.preferences, type_id)
            pipe.incr(self.keys.providers_gen)
            await pipe.execute()
        self._cached = None

    async def snapshot(self, fresh: bool = False, cached: bool = False) -> Snapshot:
        """The current registry; a cached copy only while no change happened since (one GET).

        `cached`: the copy in hand, without the GET, if it is at most ten cache ages old (past
        one, a fresh one loads in the background): for the dispatcher's pickup, which checks
        again with the current registry before it passes a task by."""
        now = time.monotonic()
        if cached and not fresh and (in_hand := self._in_hand(now)) is not None:
            return in_hand
        if not fresh and self._cached and now - self._cached[0] < self.cache_seconds:
            gen = await self.redis.get(self.keys.providers_gen)
            if int(gen or 0) == self._cached[1]:
                return self._cached[2]
        return (await self._reload(now))[0]

    async def unchecked(self, fresh: bool = False) -> tuple[Snapshot, int]:
        """The cached snapshot and its generation without asking Redis whether it changed,
        while it is younger than one cache age (else loaded): for a caller whose write checks
        the generation itself (the schedule script) and validates again on a change."""
        now = time.monotonic()
        if fresh or self._cached is None or now - self._cached[0] >= self.cache_seconds:
            return await self._reload(now)
        return self._cached[2], self._cached[1]

    async def _reload(self, now: float) -> tuple[Snapshot, int]:
        """Load the snapshot and keep it as the cached copy of time `now`."""
        gen, snap = await self._load()
        self._cached = (now, gen, snap)
        return snap, gen

    def _in_hand(self, now: float) -> Snapshot | None:
        """The cached copy if at most ten cache ages old; past one, a reload starts."""
        if self._cached is None or now - self._cached[0] >= 10 * self.cache_seconds:
            return None
        if now - self._cached[0] >= self.cache_seconds and (
                self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.create_task(self._refresh_quietly())
        return self._cached[2]

    async def _refresh_quietly(self) -> None:
        with contextlib.suppress(Exception):  # a later call tries again
            await self.snapshot(fresh=True)

    async def _load(self) -> tuple[int, Snapshot]:
        """The generation and the snapshot; the generation is read first, so a change racing
        the load makes the next snapshot() load again rather than keep stale data."""
        now_ms = time.time() * 1000
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self.keys.providers_gen)
            pipe.hgetall(self.keys.providers)
            pipe.zrangebyscore(self.keys.providers_alive, now_ms, "+inf")
            pipe.hgetall(self.keys.tasktypes_custom)
            pipe.hgetall(self.keys.preferences)
            gen, specs_raw, alive, custom_raw, prefs_raw = await pipe.execute()
        alive_ids = {a.decode() for a in alive}
        providers, order = {}, {}
        for pid, raw in specs_raw.items():
            if pid.decode() in alive_ids:
                data = orjson.loads(raw)
                providers[pid.decode()] = ProviderSpec.from_json(data)
                order[pid.decode()] = float(data.get("registered_at") or 0)
        prefs = self.default_preferences | {k.decode(): v.decode() for k, v in prefs_raw.items()}
        custom = {k.decode(): _custom_type(orjson.loads(v)) for k, v in custom_raw.items()}
        return int(gen or 0), Snapshot(providers, order, custom, prefs)


def _custom_type(d: dict[str, Any]) -> TaskType:
    return TaskType(str(d["id"]), str(d.get("name", d["id"])), str(d.get("description", "")),
                    shapes_from_json(d.get("input_shape")), shapes_from_json(d.get("output_shape")),
                    custom=True)


def task_type_json(tt: TaskType, spec: ProviderSpec) -> dict[str, Any]:
    """One `/tasktypes` entry with all 13 fields (TaskProcessingApiController::taskTypes);
    empty maps stay `{}`; whole-number defaults are written as 34 writes them (`1024`)."""
    return {
        "name": tt.name, "description": tt.description,
        "inputShape": shapes_to_json(tt.input_shape),
        "inputShapeEnumValues": spec.input_shape_enum_values,
        "inputShapeDefaults": php_numbers(spec.input_shape_defaults),
        "optionalInputShape": shapes_to_json(spec.optional_input_shape),
        "optionalInputShapeEnumValues": spec.optional_input_shape_enum_values,
        "optionalInputShapeDefaults": php_numbers(spec.optional_input_shape_defaults),
        "outputShape": shapes_to_json(tt.output_shape),
        "outputShapeEnumValues": spec.output_shape_enum_values,
        "optionalOutputShape": shapes_to_json(spec.optional_output_shape),
        "optionalOutputShapeEnumValues": spec.optional_output_shape_enum_values,
        "isInternal": tt.is_internal,
    }
