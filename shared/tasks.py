"""The task model: statuses, the Redis hash layout and the OCS JSON shape (reference §2.1)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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
        try:
            return cls(value or "")
        except ValueError:
            return cls.UNKNOWN


_INT_FIELDS = ("lastUpdated", "completionExpectedAt", "scheduledAt", "startedAt", "endedAt")


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

    @property
    def id(self) -> int:
        return int(self.raw["id"])

    @property
    def type(self) -> str:
        return self.raw["type"]

    @property
    def status(self) -> Status:
        return Status.parse(self.raw.get("status"))

    @property
    def user_id(self) -> str | None:
        return self.raw.get("userId")

    @property
    def input(self) -> dict[str, Any]:
        return _json_map(self.raw.get("input"))

    @property
    def output(self) -> dict[str, Any] | None:
        out = self.raw.get("output")
        return None if out is None else _json_map(out)

    @property
    def include_watermark(self) -> bool:
        return self.raw.get("includeWatermark", "1") == "1"

    def int_field(self, name: str) -> int | None:
        v = self.raw.get(name)
        return int(float(v)) if v not in (None, "") else None

    def to_json(self) -> dict[str, Any]:
        """The OCS shape: camelCase, STATUS_* strings, unix seconds; errorMessage never shown."""
        r = self.raw
        progress = r.get("progress")
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "lastUpdated": self.int_field("lastUpdated") or 0,
            "status": self.status.value,
            "userId": self.user_id,
            "appId": r.get("appId", ""),
            "input": self.input,
            "output": self.output,
            "customId": r.get("customId", ""),
            "completionExpectedAt": None,
            "progress": float(progress) if progress not in (None, "") else None,
            "scheduledAt": None, "startedAt": None, "endedAt": None,
            "allowCleanup": r.get("allowCleanup", "1") == "1",
            "includeWatermark": self.include_watermark,
            "userFacingErrorMessage": r.get("userFacingErrorMessage"),
        }
        for name in _INT_FIELDS[1:]:
            out[name] = self.int_field(name)
        return out


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _json_map(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    value = orjson.loads(raw)
    return value if isinstance(value, dict) else {}
