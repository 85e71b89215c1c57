"""One typed settings object per process, built from the environment in one place.

Every setting is an env var `TASKPROC_<NAME>` (nested models: `TASKPROC_<MODEL>__<FIELD>`, with
JSON for lists and maps). `REDIS_URL` is accepted as an alias of `TASKPROC_REDIS_URL`.
pydantic-settings reads the variables; `Settings(...)` alone reads none (tests build it from
values), `Settings.from_env()` reads them. A bad value raises `SettingsInvalid`, whose message
names the variable in one line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from pydantic_settings.sources.utils import parse_env_vars

from shared.netaddr import ForwardedHeader, parse_networks
from shared.settings_base import SettingsModel
from shared.settings_bridge import BridgeSettings
from shared.settings_engines import EngineSettings
from shared.settings_openai import OpenAISettings

PREFIX = "TASKPROC_"
DELIMITER = "__"
NOT_SETTINGS = ("TASKPROC_TEST_",)
"""Variables of the test harness, not of the service (never rejected as unknown)."""

_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("taskproc_environ", default=None)


class SettingsInvalid(ValueError):
    """A variable that does not hold a valid value; the message names it (one line each)."""


def _proxy_list(value: Any) -> Any:
    """A JSON list or a comma list; every entry must parse (a typo fails at start)."""
    if isinstance(value, str):
        value = (json.loads(value) if value.strip().startswith("[")
                 else [v for v in value.split(",") if v.strip()])
    if isinstance(value, list):
        parse_networks(str(v) for v in value)
        return [str(v).strip() for v in value]
    return value


class RateLimitSettings(SettingsModel):
    """Moving-window caps in `limits` notation, e.g. "20/2 minutes"; empty string = off. The
    HTTP roles and `taskproc run` read them at start-up: one they cannot read is one line
    naming its variable, and exit 2 (services/roles.py)."""

    schedule_user: str = "20/2 minutes"
    """/schedule per signed-in user."""
    schedule_guest: str = "5/2 minutes"
    """/schedule per guest client address."""
    get_task_user: str = ""
    """GET /task/{id} per signed-in user."""
    get_task_guest: str = ""
    """GET /task/{id} per guest client address."""
    failed_login: str = "10/1 minute"
    """Failed logins per client address AND login name: a stranger's guesses lock only their
    own address out of that one account, never every user."""
    failed_login_address: str = "100/1 minute"
    """Failed logins per client address over all login names (password spraying)."""
    schedule_exapp: str = "200/2 minutes"
    """The ExApp consumer schedule route, per ExApp and acting user."""
    fail_open: bool = True
    """When Redis errors in the limiter, let the request through (True) or refuse it."""


class Settings(BaseSettings):
    """Everything a taskproc process needs to know."""

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", env_prefix=PREFIX, env_nested_delimiter=DELIMITER,
        case_sensitive=False, populate_by_name=True)

    redis_url: str = Field(default="redis://127.0.0.1:6379/0", validation_alias=AliasChoices(
        "redis_url", "taskproc_redis_url", "redis_url_alias"))
    redis_sentinels: list[str] = Field(default_factory=list)
    """host:port of each sentinel; when set, redis_url's host is ignored."""
    redis_sentinel_master: str = "mymaster"
    redis_sentinel_password: str | None = None
    redis_socket_timeout: float = 5.0
    """Longest wait for one Redis reply (seconds); a stalled server then fails the call instead
    of hanging it. Pub/sub reads wait with their own short timeouts."""
    redis_connect_timeout: float = 2.0
    redis_retry_after_seconds: int = 5
    """Retry-After of the 503 the api and fileproxy answer while Redis is unreachable."""
    key_prefix: str = "tp"

    host: str = "127.0.0.1"
    api_port: int = 8080
    fileproxy_port: int = 8081
    dispatcher_metrics_port: int = 9100

    guests: bool = False
    trusted_proxies: Annotated[list[str], NoDecode, BeforeValidator(_proxy_list)] = Field(
        default_factory=list)
    """IPs/CIDRs of the routers in front (JSON list or comma list in the environment); only
    their forwarding header is believed for the client address. Empty: trust nobody."""
    forwarded_header: ForwardedHeader = "x-forwarded-for"
    """Which header the trusted proxies maintain: `x-forwarded-for` or RFC 7239 `forwarded`."""
    version: str = "33.0.0"
    """The Nextcloud version this server presents in capabilities and status."""
    max_body_bytes: int = 10 * 1024 * 1024
    """Largest JSON/form body the api accepts (file uploads go to the fileproxy)."""
    header_timeout_seconds: float = 60.0
    """A connection must complete a request's headers within this long after it opens or
    after its previous answer (slowloris); it is also the idle keep-alive time."""
    body_timeout_seconds: float = 60.0
    """A JSON/form body must arrive within this long; an upload may pause no longer (408)."""
    tasktypes_cache_seconds: float = 1.0
    auth_cache_seconds: float = 5.0
    """How long a verified credential is trusted without a Redis lookup (revocation delay)."""

    files_dir: Path = Path("var/files")
    max_upload_bytes: int = 2 * 1024 * 1024 * 1024 + 1024 * 1024
    upload_ttl_seconds: int = 24 * 3600

    max_queue_depth: int = 10_000
    """Scheduled tasks of one type past which /schedule answers 503 with Retry-After (0: off)."""
    queue_full_retry_seconds: int = 30
    max_live_tasks_per_user: int = 1_000
    """Scheduled or running tasks one user may have at once (429 past it; 0: off)."""
    max_user_bytes: int = 20 * 1024 * 1024 * 1024
    """Bytes of uploads one user may have stored at once (507 past it; 0: off)."""
    max_listed_tasks: int = 1_000
    """GET /tasks and /tasks/app/{appId} answer at most this many, the newest (`limit` and
    `offset` query parameters page through them)."""

    lease_seconds: float = 5.0
    """A dispatcher's hold on a running task, renewed every quarter of it; a task whose lease
    runs out (its worker died) is requeued."""
    max_attempts: int = 3
    """Claims of one task: when the lease of the last one runs out, the task fails instead of
    being requeued."""
    dispatcher_concurrency: int = 8
    """Tasks one dispatcher process runs at once."""
    task_timeout_seconds: float = 3600.0
    """A local provider still working on one task after this long is stopped; the task fails."""
    dispatcher_fallback_poll: float = 1.0
    """Seconds between queue reads when no wake-up message arrives (one lost on a reconnect)."""
    shutdown_grace_seconds: float = 20.0
    """On SIGTERM, running tasks get this long before they are handed back."""
    provider_preferences: dict[str, str] = Field(default_factory=dict)
    """task type id -> provider id; overridden by the CLI's stored preferences."""
    provider_heartbeat_seconds: float = 5.0
    """Local providers are announced again this often; they expire after three silent beats."""
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
    webhook_concurrency: int = 4
    """Webhook deliveries in flight per dispatcher (their own queue: never a task slot)."""
    webhook_max_attempts: int = 5
    """Deliveries that failed with a network error, timeout, 429 or 5xx are retried with
    exponential backoff (1, 2, 4, … s) up to this many attempts in all."""
    webhook_allow_networks: list[str] = Field(default_factory=list)
    """CIDRs a webhook may reach although they are not public (loopback, private, link-local
    and other special ranges are refused otherwise)."""

    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    engines: EngineSettings = Field(default_factory=EngineSettings)
    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    bridge: BridgeSettings = Field(default_factory=BridgeSettings)

    log_json: bool = False
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build from `TASKPROC_*` variables; keyword overrides win (used by tests)."""
        env = os.environ if environ is None else environ
        _reject_unknown(env)
        token = _ENVIRON.set(env)
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise SettingsInvalid("; ".join(_lines(exc))) from None
        except SettingsError as exc:
            raise SettingsInvalid(_settings_error(exc, env)) from None
        finally:
            _ENVIRON.reset(token)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword values first, then the mapping given to `from_env`; no .env, no secrets."""
        environ = _ENVIRON.get()
        if environ is None:
            return (init_settings,)
        return (init_settings, _MappingSource(settings_cls, environ))


class _MappingSource(EnvSettingsSource):
    """The environment source reading a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        # REDIS_URL is an alias; empty means unset (a compose file may pass it through empty).
        alias = self._environ.pop("REDIS_URL", "")
        if alias:
            self._environ["REDIS_URL_ALIAS"] = alias
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty,
                              self.env_parse_none_str)


def _reject_unknown(environ: Mapping[str, str]) -> None:
    """A misspelt TASKPROC_ variable is an error, not a silently ignored setting."""
    fields = set(Settings.model_fields)
    for key in environ:
        upper = key.upper()
        if not upper.startswith(PREFIX) or upper.startswith(NOT_SETTINGS):
            continue
        if upper[len(PREFIX):].split(DELIMITER)[0].lower() not in fields:
            raise SettingsInvalid(f"{key}: not a taskproc setting (see shared/settings.py)")


def _variable(loc: tuple[int | str, ...]) -> str:
    """The variable that feeds a validation error's location."""
    head = str(loc[0]) if loc else ""
    if head in ("redis_url", "taskproc_redis_url", "redis_url_alias"):
        return "TASKPROC_REDIS_URL (or REDIS_URL)"
    field = Settings.model_fields.get(head)
    kind = field.annotation if field is not None else None
    nested = isinstance(kind, type) and issubclass(kind, BaseModel)
    parts = [str(p) for p in loc[:2]] if nested and len(loc) > 1 else [head]
    return PREFIX + DELIMITER.join(parts).upper()


def _lines(exc: ValidationError) -> Iterator[str]:
    for err in exc.errors(include_url=False, include_input=False):
        yield f"{_variable(err['loc'])}: {err['msg']}"


def _settings_error(exc: SettingsError, environ: Mapping[str, str]) -> str:
    """pydantic-settings' JSON failures name the field; say the variable and the JSON error."""
    found = re.search(r'field "(\w+)"', str(exc))
    field = PREFIX + found.group(1).upper() if found else PREFIX
    names = sorted(k.upper() for k, v in environ.items() if _feeds(k.upper(), field)
                   and (k.upper() == field or v.strip()[:1] in ("[", "{")) and not _is_json(v))
    return (f"{', '.join(names) or field}: not valid JSON, which lists and maps must be "
            f"({exc.__cause__ or exc})")


def _feeds(name: str, field: str) -> bool:
    return name == field or name.startswith(field + DELIMITER)


def _is_json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True
