"""The one builder of a process's stores: api, fileproxy, dispatcher and CLI all start here."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from shared.accounts import ExAppStore, UserStore
from shared.filestore import FileStore
from shared.keys import Keys
from shared.redis import connect
from shared.registry import ProviderRegistry
from shared.settings import Settings
from shared.store import TaskStore


@dataclass
class Stores:
    """Redis and everything kept in it, built once per process from the settings."""

    settings: Settings
    redis: Redis
    keys: Keys
    tasks: TaskStore
    registry: ProviderRegistry
    users: UserStore
    exapps: ExAppStore
    files: FileStore

    @classmethod
    def build(cls, settings: Settings, redis: Redis | None = None) -> Stores:
        """Connect (unless given a client) and build the stores over one key prefix."""
        redis = redis if redis is not None else connect(settings)
        keys = Keys(settings.key_prefix)
        return Stores(settings, redis, keys, TaskStore(redis, keys),
                      ProviderRegistry(redis, keys, settings.provider_preferences,
                                       settings.tasktypes_cache_seconds),
                      UserStore(redis, keys), ExAppStore(redis, keys),
                      FileStore(settings.files_dir, redis, keys, settings.upload_ttl_seconds))
