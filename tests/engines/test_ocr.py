"""OCR reads back text rendered with Pillow (RapidOCR from its wheel, tesseract from Debian)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from services.dispatcher.engines import ocr
from services.dispatcher.provider_interface import Provider, ProviderError
from tests.support.providers import RecordingContext
from tests.support.required import unavailable

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ENGINES = [ocr.rapidocr, ocr.tesseract]


def rendered(lines: list[str], columns: list[tuple[int, str]] | None = None) -> bytes:
    """A PNG with the lines in black on white, 32 px type; `columns` adds (x, text) on line 1."""
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
    for x, text in columns or []:
        draw.text((x, 30), text, fill="black", font=font)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("factory", ENGINES)
async def test_reads_rendered_text(make_provider: Callable[..., Provider],
                                   ctx: RecordingContext, factory: object) -> None:
    provider = make_provider(factory)
    first = ctx.add_file(rendered(["Invoice 2024-117: total due 348.50 EUR"]), "a.png")
    second = ctx.add_file(rendered(["The quick brown fox jumps", "over the lazy dog."]), "b.png")
    out = (await provider.process({"input": [first, second]}, ctx))["output"]
    assert len(out) == 2
    assert "348.50 EUR" in out[0]
    assert [line for line in out[1].splitlines() if line.strip()] == [
        "The quick brown fox jumps", "over the lazy dog."]
    assert ctx.progress_values[-1] == 1.0


async def test_rapidocr_joins_boxes_of_one_line(make_provider: Callable[..., Provider],
                                                ctx: RecordingContext) -> None:
    """Two text boxes side by side are one line, left to right; a blank page is empty text."""
    provider = make_provider(ocr.rapidocr)
    form = ctx.add_file(rendered(["Name:", "Town: Lyon"], columns=[(600, "Alice")]), "form.png")
    blank = ctx.add_file(rendered([""]), "blank.png")
    out = (await provider.process({"input": [form, blank]}, ctx))["output"]
    assert out == ["Name: Alice\nTown: Lyon", ""]


async def test_rapidocr_rejects_a_file_that_is_no_image(make_provider: Callable[..., Provider],
                                                        ctx: RecordingContext) -> None:
    provider = make_provider(ocr.rapidocr)
    file_id = ctx.add_file(b"%PDF-1.4 not an image", "x.png")
    with pytest.raises(ProviderError) as err:
        await provider.process({"input": [file_id]}, ctx)
    assert err.value.user_message


async def test_rapidocr_cancel_stops_between_files(make_provider: Callable[..., Provider],
                                                   ctx: RecordingContext) -> None:
    provider = make_provider(ocr.rapidocr)
    page = rendered(["The quick brown fox jumps", "over the lazy dog."])
    files = [ctx.add_file(page, f"{i}.png") for i in range(8)]
    task = asyncio.create_task(provider.process({"input": files}, ctx))
    await ctx.progressed.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task  # returns only once the engine thread has stopped
    reported = len(ctx.progress_values)
    assert reported < len(files)
    engine = provider.engine  # type: ignore[attr-defined]
    assert await asyncio.wait_for(engine.run(lambda: 42), timeout=5.0) == 42
    assert len(ctx.progress_values) == reported


@pytest.mark.parametrize("bad", [[], "7", [True], ["x"]])
async def test_bad_file_list_is_a_user_error(make_provider: Callable[..., Provider],
                                             ctx: RecordingContext, bad: object) -> None:
    provider = make_provider(ocr.rapidocr)
    with pytest.raises(ProviderError) as err:
        await provider.process({"input": bad}, ctx)
    assert err.value.user_message


async def test_uninstalled_language_is_a_user_error(make_provider: Callable[..., Provider],
                                                    ctx: RecordingContext) -> None:
    provider = make_provider(ocr.tesseract)
    file_id = ctx.add_file(rendered(["Hello"]), "a.png")
    with pytest.raises(ProviderError) as err:
        await provider.process({"input": [file_id], "language": "tlh"}, ctx)
    assert err.value.user_message
    assert "eng" in {v["value"] for v in
                     provider.spec.optional_input_shape_enum_values["language"]}
