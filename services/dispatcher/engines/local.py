"""The local engines the dispatcher can offer, and why the others are not offered.

`local_providers(settings)` tries every engine in `CATALOGUE`. Per task type the candidates are
in order of preference; the first one whose engine is installed is offered and later ones are
reported as superseded. `settings.engines.enabled` (when set) names exactly the provider ids to
try, which also lets an operator pick a fallback (e.g. `taskproc:summary:ots`) over the default.
Engine modules are imported lazily, so a missing package never breaks this import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from services.dispatcher.provider_interface import Provider, ProviderUnavailable
from shared.settings import Settings
from shared.settings_engines import EngineSettings

Candidate = tuple[str, str]
"""(provider id, "module:factory" under services.dispatcher.engines)."""

CATALOGUE: list[tuple[str, list[Candidate]]] = [
    ("core:text2text:summary", [("taskproc:summary:sumy", "summary:sumy_summary"),
                                ("taskproc:summary:ots", "summary:ots_summary")]),
    ("core:text2text:headline", [("taskproc:headline:sumy", "summary:sumy_headline"),
                                 ("taskproc:headline:ots", "summary:ots_headline")]),
    ("core:text2text:topics", [("taskproc:topics:yake", "summary:yake_topics"),
                               ("taskproc:topics:ots", "summary:ots_topics")]),
    ("core:text2speech", [("taskproc:text2speech:piper", "tts:piper"),
                          ("taskproc:text2speech:espeak", "tts:espeak")]),
    ("core:audio2text", [("taskproc:audio2text:faster-whisper", "stt:faster_whisper"),
                         ("taskproc:audio2text:pocketsphinx", "stt:pocketsphinx")]),
    # tesseract read the benchmark page exactly, RapidOCR 85% (docs/engines.md): RapidOCR is
    # the pip-only engine (no root), tesseract the better one where Debian's package is there
    ("core:image2text:ocr", [("taskproc:ocr:tesseract", "ocr:tesseract"),
                             ("taskproc:ocr:rapidocr", "ocr:rapidocr")]),
    ("core:text2text:translate", [("taskproc:translate:bergamot", "translate:bergamot"),
                                  ("taskproc:translate:apertium", "translate:apertium")]),
    ("core:text2text", [("taskproc:text2text:llama", "llama:free_prompt")]),
    ("core:text2text:chat", [("taskproc:chat:llama", "llama:chat")]),
    ("core:contextwrite", [("taskproc:contextwrite:llama", "llama:context_write")]),
]


def _factory(ref: str) -> Callable[[EngineSettings], Provider]:
    """Import `services.dispatcher.engines.<module>` and return its factory."""
    module, name = ref.split(":")
    try:
        mod = importlib.import_module(f"services.dispatcher.engines.{module}")
    except ImportError as exc:  # a provider module itself should never fail; say so if it does
        raise ProviderUnavailable(f"cannot import provider module {module}: {exc}") from exc
    factory: Callable[[EngineSettings], Provider] = getattr(mod, name)
    return factory


def local_providers(settings: Settings) -> tuple[list[Provider], list[tuple[str, str]]]:
    """The local providers to offer, and (provider id, reason) for each one not offered."""
    enabled = settings.engines.enabled
    known = {pid for _, candidates in CATALOGUE for pid, _ in candidates}
    offered: list[Provider] = []
    skipped: list[tuple[str, str]] = [(pid, "unknown provider id in TASKPROC_ENGINES__ENABLED")
                                      for pid in (enabled or []) if pid not in known]
    for task_type, candidates in CATALOGUE:
        provider = _first_available(settings, task_type, candidates, skipped)
        if provider is not None:
            offered.append(provider)
    return offered, skipped


def _first_available(settings: Settings, task_type: str, candidates: list[Candidate],
                     skipped: list[tuple[str, str]]) -> Provider | None:
    """The first enabled candidate whose engine is installed; the others go to `skipped`."""
    enabled = settings.engines.enabled
    chosen: tuple[str, Provider] | None = None
    for pid, ref in candidates:
        if enabled is not None and pid not in enabled:
            skipped.append((pid, "not listed in TASKPROC_ENGINES__ENABLED"))
        elif chosen is not None:
            skipped.append((pid, f"{chosen[0]} is offered for {task_type}"))
        else:
            try:
                chosen = pid, _factory(ref)(settings.engines)
            except ProviderUnavailable as exc:
                skipped.append((pid, str(exc)))
    return None if chosen is None else chosen[1]
