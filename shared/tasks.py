"""The task model: statuses, the fields of a task's Redis hash and the OCS JSON shape.

`TaskField` names every field of `{p}:task:{<id>}` (docs/redis.md); outside this module code
reads a task through the typed properties of `Task`, never through raw hash fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar, overload

import orjson


class Status(StrEnum):
    """Task statuses, persisted and shown as Nextcloud's STATUS_* strings."""

    UNKNOWN = "STATUS_UNKNOWN"
    SCHEDULED = "STATUS_SCHEDULED"
    RUNNING = "STATUS_RUNNING"
    SUCCESSFUL = "STATUS_SUCCESSFUL"
    FAILED = "STATUS_FAILED"
    CANCELLED = "STATUS_CANCELLED"

    @property
    def final(self) -> bool:
        return self in (Status.SUCCESSFUL, Status.FAILED, Status.CANCELLED)

    @classmethod
    def parse(cls, value: str | None) -> Status:
        return _STATUSES.get(value or "", cls.UNKNOWN)


_STATUSES = {s.value: s for s in Status}
"""Each status by its string (a dict lookup; calling the enum costs several times more)."""


class TaskField(StrEnum):
    """The fields of a task's hash. Lua scripts write them (shared/lua); absent = not set."""

    ID = "id"
    TYPE = "type"
    STATUS = "status"
    USER_ID = "userId"            # absent: a task without user (guest or ExApp)
    GUEST = "guest"               # the guest's client address (user-less tasks of guests)
    EXAPP = "exApp"               # the ExApp that scheduled a user-less task
    APP_ID = "appId"
    CUSTOM_ID = "customId"
    INPUT = "input"               # JSON
    OUTPUT = "output"             # JSON
    PROGRESS = "progress"
    SCHEDULED_AT = "scheduledAt"  # unix seconds, as are the *At fields and lastUpdated
    STARTED_AT = "startedAt"
    ENDED_AT = "endedAt"
    LAST_UPDATED = "lastUpdated"
    COMPLETION_EXPECTED_AT = "completionExpectedAt"
    INCLUDE_WATERMARK = "includeWatermark"  # '1' or '0'
    ALLOW_CLEANUP = "allowCleanup"          # '1' or '0'
    WEBHOOK_URI = "webhookUri"
    WEBHOOK_METHOD = "webhookMethod"
    WEBHOOK_SEQ = "webhookSeq"    # deliveries queued so far
    ERROR_MESSAGE = "errorMessage"
    USER_FACING_ERROR_MESSAGE = "userFacingErrorMessage"
    ATTEMPT = "attempt"           # claims so far (lease expiries count, hand-backs do not)
    GEN = "gen"                   # generation: each (re)queue makes a new job
    PROVIDER = "provider"         # id of the provider that claimed it last
    LEASE_OWNER = "leaseOwner"    # dispatcher worker id or ExApp id holding the lease
    LEASE_TOKEN = "leaseToken"    # fences the holder's progress and result
    LEASE_EXPIRES = "leaseExpires"  # ms


F = TaskField
_INT_FIELDS = (F.LAST_UPDATED, F.COMPLETION_EXPECTED_AT, F.SCHEDULED_AT, F.STARTED_AT,
               F.ENDED_AT)
_INT_KEYS = tuple(f.value for f in _INT_FIELDS)
"""The same fields as plain strings, hash fields and JSON keys alike (reading an enum member
costs a lookup each time, and to_json reads these on every answer)."""


T = TypeVar("T")


class _Field(Generic[T]):
    """A typed attribute of `Task` read from one hash field: `_Field(F.GEN, _count)`."""

    def __init__(self, field: TaskField, decode: Callable[[str | None], T]) -> None:
        self.field, self.decode = field, decode

    @overload
    def __get__(self, task: None, owner: type) -> _Field[T]: ...
    @overload
    def __get__(self, task: Task, owner: type | None = None) -> T: ...
    def __get__(self, task: Task | None, owner: type | None = None) -> Any:
        return self if task is None else self.decode(task.raw.get(self.field))


def _text(value: str | None) -> str | None:
    return value


def _text_or_empty(value: str | None) -> str:
    return value or ""


def _flag_on(value: str | None) -> bool:
    """'1' or absent (the default is on); '0' is off."""
    return value in (None, "1")


def _whole(value: str | None) -> int | None:
    """A number field as whole seconds (None: not set)."""
    return int(float(value)) if value not in (None, "") else None


def _count(value: str | None) -> int:
    return int(float(value)) if value not in (None, "") else 0


@dataclass
class Task:
    """A task as read from its Redis hash (`{p}:task:{id}`). Absent fields are None."""

    raw: dict[str, str]

    @classmethod
    def from_redis(cls, data: dict[bytes, bytes] | dict[str, str] | list[Any]) -> Task:
        """Accept HGETALL's dict or a Lua script's flat [k, v, k, v…] list."""
        if isinstance(data, list):
            it = iter(data)
            return cls({_s(k): _s(v) for k, v in zip(it, it, strict=True)})
        return cls({_s(k): _s(v) for k, v in data.items()})

    def get(self, field: TaskField) -> str | None:
        return self.raw.get(field)

    @property
    def id(self) -> int:
        return int(self.raw[F.ID])

    @property
    def type(self) -> str:
        return self.raw[F.TYPE]

    @property
    def status(self) -> Status:
        return Status.parse(self.raw.get(F.STATUS))

    @property
    def input(self) -> dict[str, Any]:
        return _json_map(self.raw.get(F.INPUT))

    @property
    def output(self) -> dict[str, Any] | None:
        out = self.raw.get(F.OUTPUT)
        return None if out is None else _json_map(out)

    @property
    def progress(self) -> float | None:
        value = self.raw.get(F.PROGRESS)
        return float(value) if value not in (None, "") else None

    @property
    def webhook(self) -> tuple[str, str] | None:
        """(uri, method) when the task has a webhook."""
        uri, method = self.raw.get(F.WEBHOOK_URI), self.raw.get(F.WEBHOOK_METHOD)
        return (uri, method) if uri and method else None

    user_id = _Field(F.USER_ID, _text)
    guest = _Field(F.GUEST, _text)
    exapp = _Field(F.EXAPP, _text)
    """The ExApp that scheduled this task without a user."""
    app_id = _Field(F.APP_ID, _text_or_empty)
    custom_id = _Field(F.CUSTOM_ID, _text_or_empty)
    include_watermark = _Field(F.INCLUDE_WATERMARK, _flag_on)
    allow_cleanup = _Field(F.ALLOW_CLEANUP, _flag_on)
    error_message = _Field(F.ERROR_MESSAGE, _text)
    user_facing_error_message = _Field(F.USER_FACING_ERROR_MESSAGE, _text)
    attempt = _Field(F.ATTEMPT, _count)
    gen = _Field(F.GEN, _count)
    provider_id = _Field(F.PROVIDER, _text)
    lease_owner = _Field(F.LEASE_OWNER, _text)
    lease_token = _Field(F.LEASE_TOKEN, _text)

    def int_field(self, name: TaskField) -> int | None:
        return _whole(self.raw.get(name))

    def to_json(self, just_scheduled: bool = False) -> dict[str, Any]:
        """The OCS shape: camelCase, STATUS_* strings, unix seconds; errorMessage never shown.

        Numbers as Nextcloud 34 writes them: `progress` is 0 until a report (null only in the
        schedule answer, which 34 renders before its database default applies), and whole
        floats are whole numbers (`1`, not `1.0`), in `progress`, `input` and `output` alike.
        """
        raw, progress = self.raw, self.progress
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "lastUpdated": _whole(raw.get(_INT_KEYS[0])) or 0,
            "status": self.status.value,
            "userId": self.user_id,
            "appId": self.app_id,
            "input": php_numbers(self.input),
            "output": php_numbers(self.output),
            "customId": self.custom_id,
            "completionExpectedAt": None,
            "progress": (php_numbers(progress) if progress is not None else
                         None if just_scheduled else 0),
            "scheduledAt": None, "startedAt": None, "endedAt": None,
            "allowCleanup": self.allow_cleanup,
            "includeWatermark": self.include_watermark,
            "userFacingErrorMessage": self.user_facing_error_message,
        }
        for key in _INT_KEYS[1:]:
            out[key] = _whole(raw.get(key))
        return out


class OwnerKind(StrEnum):
    OPERATOR = "*"
    USER = "user"
    GUEST = "guest"
    EXAPP = "exapp"


@dataclass(frozen=True)
class Owner:
    """Who acts on a task: the operator (any task), a user, a guest (the client address of a
    task without user) or an ExApp acting without a user (the tasks it scheduled so).
    shared/lua/common.lua's owned() applies the same rule inside the scripts."""

    kind: OwnerKind
    who: str = ""

    @classmethod
    def user(cls, user_id: str) -> Owner:
        return cls(OwnerKind.USER, user_id)

    @classmethod
    def guest(cls, address: str) -> Owner:
        return cls(OwnerKind.GUEST, address)

    @classmethod
    def exapp(cls, app_id: str) -> Owner:
        return cls(OwnerKind.EXAPP, app_id)

    def owns(self, task: Task) -> bool:
        if self.kind is OwnerKind.OPERATOR:
            return True
        if self.kind is OwnerKind.USER:
            return task.user_id == self.who
        if task.user_id is not None:
            return False
        if self.kind is OwnerKind.GUEST:
            return task.guest == self.who
        return task.guest is None and task.exapp == self.who

    def fields(self) -> list[str]:
        """The field/value pairs that bind a new task to this owner."""
        field = {OwnerKind.USER: F.USER_ID, OwnerKind.GUEST: F.GUEST,
                 OwnerKind.EXAPP: F.EXAPP}.get(self.kind)
        return [] if field is None else [field.value, self.who]


OPERATOR = Owner(OwnerKind.OPERATOR)


def php_numbers(value: Any) -> Any:
    """Whole floats as ints, as PHP's json_encode writes them (no JSON_PRESERVE_ZERO_FRACTION):
    Swift's and Kotlin's `Int?` fields decode `1` but not always `1.0`."""
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dict):
        return {k: php_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [php_numbers(v) for v in value]
    return value


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _json_map(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    value = orjson.loads(raw)
    return value if isinstance(value, dict) else {}
