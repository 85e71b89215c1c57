"""The local engines the dispatcher can offer, and why the others are not offered.

`local_providers(settings)` tries every engine in `CATALOGUE`: per task type, engine name ->
factory, in order of preference; the provider id is `taskproc:<kind>:<engine>` (`provider_id`).
The first candidate whose engine is installed is offered and later ones are reported as
superseded. `settings.engines.enabled` (when set) names exactly the provider ids to try, which
also lets an operator pick a fallback (e.g. `taskproc:summary:ots`) over the default. Engine
modules import their engine's packages only when a factory runs, so a missing package never
breaks this import.
"""

from __future__ import annotations

from collections.abc import Callable

from services.dispatcher.engines._common import provider_id
from services.dispatcher.engines.llama import chat, context_write, free_prompt
from services.dispatcher.engines.ocr import rapidocr, tesseract
from services.dispatcher.engines.stt import faster_whisper, pocketsphinx
from services.dispatcher.engines.summary import (
    ots_headline,
    ots_summary,
    ots_topics,
    sumy_headline,
    sumy_summary,
    yake_topics,
)
from services.dispatcher.engines.translate import apertium, bergamot
from services.dispatcher.engines.tts import espeak, piper
from services.dispatcher.provider_interface import Provider, ProviderUnavailable
from shared.settings import Settings
from shared.settings_engines import EngineSettings

Factory = Callable[[EngineSettings], Provider]

CATALOGUE: dict[str, dict[str, Factory]] = {
    "core:text2text:summary": {"sumy": sumy_summary, "ots": ots_summary},
    "core:text2text:headline": {"sumy": sumy_headline, "ots": ots_headline},
    "core:text2text:topics": {"yake": yake_topics, "ots": ots_topics},
    "core:text2speech": {"piper": piper, "espeak": espeak},
    "core:audio2text": {"faster-whisper": faster_whisper, "pocketsphinx": pocketsphinx},
    # tesseract read the benchmark page exactly, RapidOCR 85% (docs/engines.md): RapidOCR is
    # the pip-only engine (no root), tesseract the better one where Debian's package is there
    "core:image2text:ocr": {"tesseract": tesseract, "rapidocr": rapidocr},
    "core:text2text:translate": {"bergamot": bergamot, "apertium": apertium},
    "core:text2text": {"llama": free_prompt},
    "core:text2text:chat": {"llama": chat},
    "core:contextwrite": {"llama": context_write},
}


def candidates(task_type: str) -> list[tuple[str, Factory]]:
    """(provider id, factory) of each engine for `task_type`, in order of preference."""
    return [(provider_id(task_type, engine), factory)
            for engine, factory in CATALOGUE[task_type].items()]


def local_providers(settings: Settings) -> tuple[list[Provider], list[tuple[str, str]]]:
    """The local providers to offer, and (provider id, reason) for each one not offered."""
    enabled = settings.engines.enabled
    known = {pid for task_type in CATALOGUE for pid, _ in candidates(task_type)}
    offered: list[Provider] = []
    skipped: list[tuple[str, str]] = [(pid, "unknown provider id in TASKPROC_ENGINES__ENABLED")
                                      for pid in (enabled or []) if pid not in known]
    for task_type in CATALOGUE:
        provider = _first_available(settings, task_type, skipped)
        if provider is not None:
            offered.append(provider)
    return offered, skipped


def _first_available(settings: Settings, task_type: str,
                     skipped: list[tuple[str, str]]) -> Provider | None:
    """The first enabled candidate whose engine is installed; the others go to `skipped`."""
    enabled = settings.engines.enabled
    chosen: tuple[str, Provider] | None = None
    for pid, factory in candidates(task_type):
        if enabled is not None and pid not in enabled:
            skipped.append((pid, "not listed in TASKPROC_ENGINES__ENABLED"))
        elif chosen is not None:
            skipped.append((pid, f"{chosen[0]} is offered for {task_type}"))
        else:
            try:
                chosen = pid, factory(settings.engines)
            except ProviderUnavailable as exc:
                skipped.append((pid, str(exc)))
    return None if chosen is None else chosen[1]
