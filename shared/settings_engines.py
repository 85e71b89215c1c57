"""Settings of the local engines (owned by the engines work; see services/dispatcher/providers)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class EngineSettings(BaseModel):
    """Options of the in-process engines; env vars `TASKPROC_ENGINES__<FIELD>`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: list[str] | None = None
    """Provider ids to offer; None offers every provider whose engine is installed."""
