"""Providers that behave like taskproc_fake of `../shared/tools/nextcloud-dev/`, so the same
requests give comparable answers from Nextcloud 34 and from taskproc.

Output is a pure function of the input: `core:text2text` returns the input upper-cased,
summary/headline/topics prefix it ("SUMMARY: "…), text2speech returns a silent WAV (10 ms per
character). Markers in the input: `ncdev:fail`, `ncdev:fail-user` (with a user-facing message),
`ncdev:sleep=N` (N seconds, progress i/(N+1) after each second; the seconds can be shortened
with `second` for tests), and for tests `ncdev:hold` (reports progress 0.5, then waits for the
`hold` event).
"""

from __future__ import annotations

import asyncio
import re
import struct
from typing import Any

from services.dispatcher.provider_interface import ProviderContext, ProviderError
from shared.provider_spec import ProviderSpec
from shared.shapes import Shape, ShapeType

_SLEEP = re.compile(r"ncdev:sleep=(\d+)")
_PREFIXES = {"core:text2text": "", "core:text2text:summary": "SUMMARY: ",
             "core:text2text:headline": "HEADLINE: ", "core:text2text:topics": "TOPICS: "}
_SHORT = {"core:text2text": "text2text", "core:text2text:summary": "summary",
          "core:text2text:headline": "headline", "core:text2text:topics": "topics",
          "core:text2speech": "text2speech"}


def silent_wav(chars: int) -> bytes:
    """8 kHz, 8-bit, mono silence, 10 ms per input character (as taskproc_fake makes it)."""
    frames = 80 * max(chars, 1)
    header = b"RIFF" + struct.pack("<I", 36 + frames) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8) + b"data" + struct.pack("<I", frames)
    return header + b"\x80" * frames


class NcdevFakeProvider:
    """One task type of taskproc_fake."""

    def __init__(self, task_type: str = "core:text2text", second: float = 1.0,
                 hold: asyncio.Event | None = None) -> None:
        short = _SHORT[task_type]
        self.spec = ProviderSpec(id=f"taskproc_fake-{short}", name=f"taskproc fake {short}",
                                 task_type=task_type, expected_runtime=1)
        self.second = second
        self.hold = hold or asyncio.Event()

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        text = inputs.get("input")
        if not isinstance(text, str):
            raise ProviderError('taskproc_fake: input slot "input" must be a string')
        if "ncdev:fail-user" in text:
            raise ProviderError("taskproc_fake: failure requested by the input",
                                "The fake provider was asked to fail.")
        if "ncdev:fail" in text:
            raise ProviderError("taskproc_fake: failure requested by the input")
        if "ncdev:hold" in text:
            await ctx.progress(0.5)
            await self.hold.wait()
        if m := _SLEEP.search(text):
            seconds = max(1, min(60, int(m.group(1))))
            for i in range(1, seconds + 1):
                await asyncio.sleep(self.second)
                await ctx.progress(i / (seconds + 1))
        if self.spec.task_type == "core:text2speech":
            return {"speech": silent_wav(len(text))}
        return {"output": _PREFIXES[self.spec.task_type] + text.upper()}


def ncdev_fake_providers(second: float = 1.0,
                         hold: asyncio.Event | None = None) -> list[NcdevFakeProvider]:
    """All five fake providers of taskproc_fake (sharing one `hold` event)."""
    hold = hold or asyncio.Event()
    return [NcdevFakeProvider(t, second, hold) for t in _SHORT]


class FakeTranslateProvider:
    """core:text2text:translate for en→de and de→en only, declaring its pairs (so any other
    pair is refused at schedule time) and, like integration_openai, optional `model` and
    `max_tokens` slots with defaults (Android reads them to build its request)."""

    PAIRS = (("de", "en"), ("en", "de"))

    def __init__(self) -> None:
        langs = [{"name": "English", "value": "en"}, {"name": "German", "value": "de"}]
        self.spec = ProviderSpec(
            id="taskproc_fake-translate", name="taskproc fake translate",
            task_type="core:text2text:translate", expected_runtime=1,
            input_shape_enum_values={"origin_language": langs, "target_language": langs},
            input_shape_defaults={"origin_language": "en", "target_language": "de"},
            optional_input_shape={
                "model": Shape("Model", "The model used", ShapeType.Text),
                "max_tokens": Shape("Maximum output words", "The maximum number of words",
                                    ShapeType.Number)},
            optional_input_shape_defaults={"model": "fake-1", "max_tokens": 1024},
            language_pairs=self.PAIRS)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        text = str(inputs["input"])
        return {"output": f"[{inputs['origin_language']}→{inputs['target_language']}] {text}"}
