"""One typed settings object per process, built from the environment in one place.

Every setting is an env var `TASKPROC_<NAME>` (nested models: `TASKPROC_<MODEL>__<FIELD>`, with
JSON for lists and maps). `REDIS_URL` is accepted as an alias of `TASKPROC_REDIS_URL`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from shared.settings_engines import EngineSettings
from shared.settings_openai import OpenAISettings

PREFIX = "TASKPROC_"


class RateLimitSettings(BaseModel):
    """Moving-window caps in `limits` notation, e.g. "20/2 minutes"; empty string = off."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schedule_user: str = "20/2 minutes"
    schedule_guest: str = "5/2 minutes"
    get_task_user: str = ""
    get_task_guest: str = ""
    failed_login: str = "10/1 minute"
    fail_open: bool = True
    """When Redis errors in the limiter, let the request through (True) or refuse it."""


class Settings(BaseModel):
    """Everything a taskproc process needs to know."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_sentinels: list[str] = Field(default_factory=list)
    """host:port of each sentinel; when set, redis_url's host is ignored."""
    redis_sentinel_master: str = "mymaster"
    redis_sentinel_password: str | None = None
    key_prefix: str = "tp"

    host: str = "127.0.0.1"
    api_port: int = 8080
    fileproxy_port: int = 8081
    dispatcher_metrics_port: int = 9100

    guests: bool = False
    version: str = "33.0.0"
    """The Nextcloud version this server presents in capabilities and status."""
    instance_name: str = "taskproc"
    max_body_bytes: int = 10 * 1024 * 1024
    """Largest JSON/form body the api accepts (file uploads go to the fileproxy)."""
    tasktypes_cache_seconds: float = 1.0
    auth_cache_seconds: float = 5.0
    """How long a verified credential is trusted without a Redis lookup (revocation delay)."""

    files_dir: Path = Path("var/files")
    max_upload_bytes: int = 2 * 1024 * 1024 * 1024 + 1024 * 1024
    upload_ttl_seconds: int = 24 * 3600

    lease_seconds: float = 5.0
    max_attempts: int = 3
    dispatcher_concurrency: int = 8
    dispatcher_fallback_poll: float = 1.0
    shutdown_grace_seconds: float = 20.0
    provider_preferences: dict[str, str] = Field(default_factory=dict)
    """task type id -> provider id; overridden by the CLI's stored preferences."""
    provider_heartbeat_seconds: float = 5.0
    orphan_after_seconds: float = 15.0
    """A task of a local provider still scheduled this long with its job gone or stuck in a
    dead worker gets a new job (a live dispatcher claims within milliseconds)."""
    exapp_lease_min_seconds: float = 120.0
    """Shortest lease of an ExApp's claim (progress calls renew it)."""
    exapp_lease_factor: float = 4.0
    """An ExApp claim's lease is this many times its provider's expected runtime (or the
    minimum); an ExApp that never reports progress must finish within it."""

    task_max_age_seconds: int = 60 * 60 * 24 * 30 * 4
    housekeeping_interval_seconds: float = 3600.0
    webhook_timeout_seconds: float = 30.0

    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    engines: EngineSettings = Field(default_factory=EngineSettings)
    openai: OpenAISettings = Field(default_factory=OpenAISettings)

    log_json: bool = False
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build from `TASKPROC_*` variables; keyword overrides win (used by tests)."""
        env = os.environ if environ is None else environ
        data: dict[str, Any] = {}
        if env.get("REDIS_URL"):
            data["redis_url"] = env["REDIS_URL"]
        for key, raw in env.items():
            if not key.startswith(PREFIX):
                continue
            path = key[len(PREFIX):].lower().split("__")
            target = data
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = _parse_value(raw)
        data.update(overrides)
        return cls.model_validate(data)


def _parse_value(raw: str) -> Any:
    """JSON lists/maps as JSON, comma lists for sentinels, plain strings otherwise."""
    s = raw.strip()
    if s[:1] in ("[", "{"):
        return orjson.loads(s)
    return raw
