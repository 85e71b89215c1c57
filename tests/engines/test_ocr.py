"""OCR reads back text rendered with Pillow."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from services.dispatcher.engines import ocr
from services.dispatcher.provider_interface import Provider, ProviderError
from tests.engines.conftest import RecordingContext, unavailable

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def rendered(lines: list[str]) -> bytes:
    """A PNG with the lines in black on white, 32 px type."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        unavailable("pillow not installed (requirements/engines.txt)")
        raise
    font = ImageFont.truetype(str(FONT), 32) if FONT.is_file() else ImageFont.load_default(32)
    image = Image.new("RGB", (900, 60 + 60 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((30, 30 + 60 * i), line, fill="black", font=font)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


async def test_reads_rendered_text(make_provider: Callable[..., Provider],
                                   ctx: RecordingContext) -> None:
    provider = make_provider(ocr.tesseract)
    first = ctx.add_file(rendered(["Invoice 2024-117: total due 348.50 EUR"]), "a.png")
    second = ctx.add_file(rendered(["The quick brown fox jumps", "over the lazy dog."]), "b.png")
    out = (await provider.process({"input": [first, second]}, ctx))["output"]
    assert len(out) == 2
    assert "348.50 EUR" in out[0]
    assert "quick brown fox" in out[1] and "lazy dog" in out[1]
    assert ctx.progress_values == [0.5, 1.0]
    assert "eng" in {v["value"] for v in
                     provider.spec.optional_input_shape_enum_values["language"]}


async def test_uninstalled_language_is_a_user_error(make_provider: Callable[..., Provider],
                                                    ctx: RecordingContext) -> None:
    provider = make_provider(ocr.tesseract)
    file_id = ctx.add_file(rendered(["Hello"]), "a.png")
    with pytest.raises(ProviderError) as err:
        await provider.process({"input": [file_id], "language": "tlh"}, ctx)
    assert err.value.user_message
