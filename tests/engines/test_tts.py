"""Speech synthesis to a decodable WAV of plausible length."""

from __future__ import annotations

import io
import wave
from collections.abc import Callable

import pytest

from services.dispatcher.engines import tts
from services.dispatcher.provider_interface import Provider, ProviderError
from tests.support.providers import RecordingContext

TEXT = "The quick brown fox jumps over the lazy dog. Nextcloud turns text into speech."


@pytest.mark.parametrize("factory", [tts.piper, tts.espeak])
async def test_speech_is_a_wav_of_plausible_length(make_provider: Callable[..., Provider],
                                                   ctx: RecordingContext,
                                                   factory: object) -> None:
    provider = make_provider(factory)
    voices = provider.spec.optional_input_shape_enum_values["voice"]
    assert provider.spec.optional_input_shape_defaults["voice"] == voices[0]["value"]
    out = await provider.process({"input": TEXT, "voice": voices[0]["value"]}, ctx)
    with wave.open(io.BytesIO(out["speech"])) as wav:
        seconds = wav.getnframes() / wav.getframerate()
        assert wav.getframerate() >= 16000
    assert 2.5 < seconds < 12.0  # ~14 words at a normal speaking rate


async def test_unknown_voice_is_a_user_error(make_provider: Callable[..., Provider],
                                             ctx: RecordingContext) -> None:
    provider = make_provider(tts.espeak)
    with pytest.raises(ProviderError) as err:
        await provider.process({"input": TEXT, "voice": "klingon"}, ctx)
    assert err.value.user_message and "klingon" in err.value.user_message
