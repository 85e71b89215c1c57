"""The `cluster` fixture of the bridge tests (`tests.support.bridge.running_cluster`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from shared.settings import Settings
from tests.support.bridge import Cluster, running_cluster


@pytest.fixture
async def cluster(settings: Settings, tmp_path: Path, redis: Redis) -> AsyncIterator[Cluster]:
    async with running_cluster(settings, tmp_path, redis) as c:
        yield c
