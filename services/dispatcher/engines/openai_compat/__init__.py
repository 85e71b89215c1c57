"""OpenAI-compatible provider: any backend speaking OpenAI's HTTP API (vLLM, llama.cpp server,
Ollama, LocalAI, OpenAI itself) serves Nextcloud task types.

    openai_providers(settings) -> (providers, [(provider id, reason not offered), …])

Provider ids are `taskproc:openai:<task type>`. All providers of one call share one aiohttp
session; call `close()` on any of them at shutdown. Configuration: `shared.settings_openai`
and docs/openai.md.
"""

from __future__ import annotations

from services.dispatcher.engines.openai_compat.catalog import (
    TASK_KINDS,
    Kind,
    build_spec,
    provider_id,
    resolve_endpoint,
)
from services.dispatcher.engines.openai_compat.client import Endpoint, OpenAIClient
from services.dispatcher.engines.openai_compat.providers import (
    ChatProvider,
    ImageProvider,
    OpenAIProvider,
    SpeechProvider,
    TranscriptionProvider,
    VisionProvider,
)
from services.dispatcher.provider_interface import Provider
from shared.settings import Settings
from shared.settings_openai import OpenAISettings

__all__ = ["OpenAIClient", "OpenAIProvider", "openai_providers"]

_CLASSES: dict[Kind, type[OpenAIProvider]] = {
    "chat": ChatProvider, "vision": VisionProvider, "transcription": TranscriptionProvider,
    "speech": SpeechProvider, "image": ImageProvider,
}


def openai_providers(settings: Settings) -> tuple[list[Provider], list[tuple[str, str]]]:
    """The providers the configured backends can serve, and why the others are not offered."""
    cfg = settings.openai
    client = OpenAIClient(cfg)
    active: list[Provider] = []
    skipped: list[tuple[str, str]] = []
    for task_type in TASK_KINDS:
        ep = resolve_endpoint(cfg, task_type)
        if isinstance(ep, str):
            skipped.append((provider_id(task_type), ep))
        else:
            active.append(_make(task_type, ep, client, cfg))
    for task_type in cfg.task_types.keys() - TASK_KINDS.keys():
        skipped.append((provider_id(task_type), "task type not supported by this provider"))
    return active, skipped


def _make(task_type: str, ep: Endpoint, client: OpenAIClient, cfg: OpenAISettings) -> Provider:
    cls = _CLASSES[TASK_KINDS[task_type]]
    return cls(build_spec(task_type, ep), client, ep, cfg)
