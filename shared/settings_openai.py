"""Settings of the OpenAI-compatible provider (owned by that provider's work)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class OpenAISettings(BaseModel):
    """Backends per task type; env vars `TASKPROC_OPENAI__<FIELD>` (JSON for nested values)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = None
    """Default backend, e.g. http://127.0.0.1:8000/v1; None disables the provider."""
