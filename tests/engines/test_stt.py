"""Transcription of real recorded speech (LibriVox clips from pocketsphinx-testdata)."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from services.dispatcher.engines import stt
from services.dispatcher.provider_interface import Provider
from tests.support.providers import RecordingContext
from tests.support.required import unavailable

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
CLIP = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav"
# "and mister john dashwood had then leisure to consider how much there might be prudently
#  in his power to do for them"
ILL_DISPOSED = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"
# "he was not an ill disposed young man" (tiny.en heard "old-sposed")


def _clip() -> Path:
    if not CLIP.is_file():
        unavailable("pocketsphinx-testdata not installed (LibriVox fixtures)")
    return CLIP


def long_recording(path: Path, repeats: int) -> Path:
    """All LibriVox clips, `repeats` times over, as one 16 kHz WAV (about 25 s per repeat)."""
    clips = sorted(LIBRIVOX.glob("*.wav"))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        for _ in range(repeats):
            for clip in clips:
                with wave.open(str(clip)) as src:
                    out.writeframes(src.readframes(src.getnframes()))
    return path


@pytest.mark.parametrize(("factory", "words"), [
    (stt.faster_whisper, ["john", "dashwood", "leisure", "consider", "power"]),
    (stt.pocketsphinx, ["john", "leisure", "consider", "power"]),
])
async def test_transcribes_recorded_speech(make_provider: Callable[..., Provider],
                                           ctx: RecordingContext, factory: object,
                                           words: list[str]) -> None:
    provider = make_provider(factory)
    file_id = ctx.add_file(_clip(), "speech.wav")
    text = (await provider.process({"input": file_id}, ctx))["output"].lower()
    assert all(w in text for w in words), text
    assert ctx.progress_values and ctx.progress_values[-1] > 0.8


async def test_whisper_base_hears_ill_disposed(make_provider: Callable[..., Provider],
                                              ctx: RecordingContext) -> None:
    """The default model is Whisper base from its wheels, joined into model_dir."""
    provider = make_provider(stt.faster_whisper)
    assert "base" in provider.spec.name
    _clip()
    text = (await provider.process({"input": ctx.add_file(ILL_DISPOSED, "s.wav")}, ctx))["output"]
    assert text.lower().replace("-", " ").strip(" .") == "he was not an ill disposed young man"


async def test_whisper_reads_other_formats(make_provider: Callable[..., Provider],
                                           ctx: RecordingContext, tmp_path: Path) -> None:
    """PyAV decodes FLAC too; sox converts the clip (sox is in debian-engines.txt)."""
    provider = make_provider(stt.faster_whisper)
    flac = tmp_path / "speech.flac"
    proc = await asyncio.create_subprocess_exec("sox", str(_clip()), str(flac))
    assert await proc.wait() == 0
    text = (await provider.process({"input": ctx.add_file(flac, "speech.flac")}, ctx))["output"]
    assert "leisure" in text.lower()


@pytest.mark.parametrize("factory", [stt.faster_whisper, stt.pocketsphinx])
async def test_cancel_stops_the_transcription(make_provider: Callable[..., Provider],
                                              ctx: RecordingContext, tmp_path: Path,
                                              factory: object) -> None:
    """Cancel after the first segment: the engine thread ends long before the audio would."""
    provider = make_provider(factory)
    _clip()
    file_id = ctx.add_file(long_recording(tmp_path / "long.wav", repeats=6), "long.wav")
    task = asyncio.create_task(provider.process({"input": file_id}, ctx))
    await ctx.progressed.wait()
    reported = len(ctx.progress_values)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task  # returns only once the engine thread has returned
    assert len(ctx.progress_values) == reported
    assert ctx.progress_values[-1] < 0.5
    # the concurrency slot is free again: another call runs at once
    engine = provider.engine  # type: ignore[attr-defined]
    assert await asyncio.wait_for(engine.run(lambda: 42), timeout=2.0) == 42
