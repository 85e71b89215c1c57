"""Which task types this provider serves, through which endpoint, and what it declares."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from services.dispatcher.engines.openai_compat.client import Endpoint
from services.dispatcher.engines.openai_compat.prompts import (
    DETECT_LANGUAGE,
    LANGUAGES,
    TONES,
    enum_values,
)
from shared.provider_spec import ProviderSpec
from shared.settings_openai import OpenAIBackend, OpenAISettings

Kind = Literal["chat", "vision", "transcription", "speech", "image"]

TASK_KINDS: dict[str, Kind] = {
    "core:text2text": "chat", "core:text2text:chat": "chat",
    "core:text2text:chatwithtools": "chat", "core:text2text:summary": "chat",
    "core:text2text:headline": "chat", "core:text2text:topics": "chat",
    "core:text2text:translate": "chat", "core:text2text:changetone": "chat",
    "core:text2text:proofread": "chat", "core:text2text:simplification": "chat",
    "core:text2text:formalization": "chat", "core:text2text:reformulation": "chat",
    "core:contextwrite": "chat", "core:generateemoji": "chat",
    "core:analyze-images": "vision", "core:audio2text": "transcription",
    "core:text2speech": "speech", "core:text2image": "image",
}
"""Every task type this provider can serve."""

DEFAULT_MODELS: dict[Kind, str] = {
    "chat": "gpt-4o-mini", "vision": "gpt-4o-mini", "transcription": "whisper-1",
    "speech": "tts-1", "image": "dall-e-3",
}

_EXPECTED_RUNTIME: dict[Kind, int] = {
    "chat": 30, "vision": 60, "transcription": 60, "speech": 20, "image": 120,
}


def provider_id(task_type: str) -> str:
    return f"taskproc:openai:{task_type}"


def resolve_endpoint(cfg: OpenAISettings, task_type: str) -> Endpoint | str:
    """The endpoint for a task type, or the reason it is not offered.

    Chat types use the default backend unless overridden. Vision, audio and image types need an
    entry in `task_types`, since a chat backend rarely serves them (and images are never faked).
    The default key goes only to the default base URL, never to another host.
    """
    kind = TASK_KINDS[task_type]
    override = cfg.task_types.get(task_type)
    if override is not None and not override.enabled:
        return "disabled in settings (openai.task_types)"
    if kind != "chat" and override is None:
        return f"no backend configured for {task_type} (openai.task_types)"
    return _endpoint(cfg, kind, override or OpenAIBackend())


def _endpoint(cfg: OpenAISettings, kind: Kind, override: OpenAIBackend) -> Endpoint | str:
    """The type's override over the defaults; the default key only for the default base URL."""
    base = override.base_url or cfg.base_url
    if not base:
        return "no backend configured (TASKPROC_OPENAI__BASE_URL)"
    key = override.api_key
    if key is None and base == cfg.base_url:
        key = cfg.api_key
    model = override.model or (cfg.model if kind in ("chat", "vision") else None) \
        or DEFAULT_MODELS[kind]
    return Endpoint(base, key.get_secret_value() if key else None, model)


def build_spec(task_type: str, ep: Endpoint) -> ProviderSpec:
    """What /tasktypes shows: enum values and defaults where the type has enum slots."""
    spec = ProviderSpec(id=provider_id(task_type), name=f"OpenAI-compatible: {ep.model}",
                        task_type=task_type,
                        expected_runtime=_EXPECTED_RUNTIME[TASK_KINDS[task_type]])
    if task_type == "core:text2text:translate":
        origin = [{"name": "Detect language", "value": DETECT_LANGUAGE}, *enum_values(LANGUAGES)]
        return _with(spec, {"origin_language": origin, "target_language": enum_values(LANGUAGES)},
                     {"origin_language": DETECT_LANGUAGE, "target_language": "en"})
    if task_type == "core:text2text:changetone":
        labels = {value: label.capitalize() for value, label in TONES.items()}
        return _with(spec, {"tone": enum_values(labels)}, {"tone": "friendlier"})
    return spec


def _with(spec: ProviderSpec, enums: dict[str, list[dict[str, str]]],
          defaults: dict[str, str | int | float]) -> ProviderSpec:
    return replace(spec, input_shape_enum_values=enums, input_shape_defaults=defaults)
