"""Settings of the OpenAI-compatible provider (owned by that provider's work).

Env vars are `TASKPROC_OPENAI__<FIELD>`, with JSON for nested values, for example:

    TASKPROC_OPENAI__BASE_URL=http://127.0.0.1:8000/v1
    TASKPROC_OPENAI__MODEL=Qwen/Qwen2.5-7B-Instruct
    TASKPROC_OPENAI__TASK_TYPES='{"core:audio2text": {"base_url": "http://127.0.0.1:8001/v1",
                                                      "model": "whisper-1"}}'

Chat-style task types are offered whenever a default `base_url` is set. Audio, image and vision
types are offered only when `task_types` names them, because most chat backends cannot serve them.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings_base import SettingsModel


class OpenAIBackend(SettingsModel):
    """Overrides for one task type; unset fields fall back to the defaults in OpenAISettings."""

    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    enabled: bool = True
    """False withholds this task type even though a default backend is configured."""


class OpenAISettings(SettingsModel):
    """Backends per task type; env vars `TASKPROC_OPENAI__<FIELD>` (JSON for nested values)."""

    base_url: str | None = None
    """Default backend, e.g. http://127.0.0.1:8000/v1; None disables the chat-style types."""
    api_key: SecretStr | None = None
    """Sent as `Authorization: Bearer …`; never logged or shown to users."""
    model: str | None = None
    """Default chat model; None sends the OpenAI-style default for the endpoint (gpt-4o-mini,
    whisper-1, tts-1, dall-e-3)."""
    task_types: dict[str, OpenAIBackend] = Field(default_factory=dict)
    """Task type id -> overrides (base URL, key, model, enabled)."""

    connect_timeout_seconds: float = 10.0
    """Longest wait for a backend to accept the connection."""
    read_timeout_seconds: float = 120.0
    """Longest silence between two reads (each streamed token resets it)."""
    timeout_seconds: float = 600.0
    """Upper bound for one whole request, retries not included."""
    max_retries: int = 3
    """Extra attempts after a 429, a 5xx or a refused connection; 4xx is never retried."""
    backoff_base_seconds: float = 1.0
    """First wait before a retry; each further one doubles it."""
    backoff_max_seconds: float = 30.0
    """Cap on one wait, also on a server's Retry-After."""

    max_tokens: int = 1024
    """Sent with chat requests; progress is reported as a fraction of it."""
    temperature: float | None = None
    stream: bool = True
    """Stream chat completions (SSE) to report progress; False for backends that cannot."""
    voice: str = "alloy"
    speech_format: str = "wav"
    """`response_format` of /audio/speech; wav needs no encoder on local servers."""
    image_size: str = "1024x1024"
    image_response_format: str | None = "b64_json"
    """None omits the field (gpt-image-1 always answers b64_json and rejects it)."""
