"""The provider registry's cache for the dispatcher's pickup (`snapshot(cached=True)`): the copy
in hand answers without a Redis call while a fresh one loads in the background; a much older
copy, or a local change, is reloaded first."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from shared.keys import Keys
from shared.provider_spec import ProviderSpec
from shared.registry import ProviderRegistry


def _age(registry: ProviderRegistry, seconds: float) -> None:
    assert registry._cached is not None
    _, gen, snap = registry._cached
    registry._cached = (time.monotonic() - seconds, gen, snap)


async def test_the_copy_in_hand_answers_while_a_fresh_one_loads(redis: Redis,
                                                                keys: Keys) -> None:
    mine, other = ProviderRegistry(redis, keys), ProviderRegistry(redis, keys)
    assert (await mine.snapshot()).providers == {}
    await other.register(ProviderSpec(id="p", name="P", task_type="core:text2text"), 60)
    assert (await mine.snapshot(cached=True)).providers == {}  # young: no reload at all
    assert mine._refresh is None
    _age(mine, 1.5)
    assert (await mine.snapshot(cached=True)).providers == {}  # answered, reload started
    assert mine._refresh is not None
    await mine._refresh
    assert set((await mine.snapshot(cached=True)).providers) == {"p"}
    assert set((await mine.snapshot()).providers) == {"p"}


async def test_an_old_copy_or_a_local_change_is_reloaded_first(redis: Redis,
                                                               keys: Keys) -> None:
    mine, other = ProviderRegistry(redis, keys), ProviderRegistry(redis, keys)
    await mine.snapshot()
    await other.register(ProviderSpec(id="p", name="P", task_type="core:text2text"), 60)
    _age(mine, 11)
    assert set((await mine.snapshot(cached=True)).providers) == {"p"}
    await mine.unregister("p")
    assert (await mine.snapshot(cached=True)).providers == {}
