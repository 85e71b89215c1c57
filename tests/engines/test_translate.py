"""Apertium translation with the installed pairs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.dispatcher.engines import translate
from services.dispatcher.provider_interface import Provider, ProviderError
from tests.engines.conftest import RecordingContext

TEXT = "The house is big and the weather is nice today."


async def test_translates_english_to_spanish(make_provider: Callable[..., Provider],
                                             ctx: RecordingContext) -> None:
    provider = make_provider(translate.apertium)
    enums = provider.spec.input_shape_enum_values
    assert {"en", "es"} <= {v["value"] for v in enums["origin_language"]}
    out = (await provider.process({"input": TEXT, "origin_language": "en",
                                   "target_language": "es"}, ctx))["output"]
    assert out and out != TEXT
    assert "casa" in out.lower()


async def test_pair_not_installed_is_a_user_error(make_provider: Callable[..., Provider],
                                                  ctx: RecordingContext) -> None:
    provider = make_provider(translate.apertium)
    with pytest.raises(ProviderError) as err:
        await provider.process({"input": TEXT, "origin_language": "en",
                                "target_language": "de"}, ctx)
    assert err.value.user_message and "en" in err.value.user_message


def test_iso_mapping() -> None:
    assert translate.to_iso("eng") == ("en", "English")
    assert translate.to_iso("eng_US") == ("en_US", "English (US)")
    assert translate.to_iso("xyz") == ("xyz", "xyz")
