"""Providers that behave like taskproc_fake of `../shared/tools/nextcloud-dev/`, so the same
requests give comparable answers from Nextcloud 34 and from taskproc.

Output is a pure function of the input: `core:text2text` returns the input upper-cased,
summary/headline/topics prefix it ("SUMMARY: "…), text2speech returns a silent WAV (10 ms per
character). Markers in the input: `ncdev:fail`, `ncdev:fail-user` (with a user-facing message),
`ncdev:sleep=N` (N seconds, progress i/(N+1) after each second; the seconds can be shortened
with `second` for tests).
"""

from __future__ import annotations

import asyncio
import re
import struct
from typing import Any

from services.dispatcher.provider import ProviderContext, ProviderError
from shared.providers import ProviderSpec

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

    def __init__(self, task_type: str = "core:text2text", second: float = 1.0) -> None:
        short = _SHORT[task_type]
        self.spec = ProviderSpec(id=f"taskproc_fake-{short}", name=f"taskproc fake {short}",
                                 task_type=task_type, expected_runtime=1)
        self.second = second

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        text = inputs.get("input")
        if not isinstance(text, str):
            raise ProviderError('taskproc_fake: input slot "input" must be a string')
        if "ncdev:fail-user" in text:
            raise ProviderError("taskproc_fake: failure requested by the input",
                                "The fake provider was asked to fail.")
        if "ncdev:fail" in text:
            raise ProviderError("taskproc_fake: failure requested by the input")
        if m := _SLEEP.search(text):
            seconds = max(1, min(60, int(m.group(1))))
            for i in range(1, seconds + 1):
                await asyncio.sleep(self.second)
                await ctx.progress(i / (seconds + 1))
        if self.spec.task_type == "core:text2speech":
            return {"speech": silent_wav(len(text))}
        return {"output": _PREFIXES[self.spec.task_type] + text.upper()}


def ncdev_fake_providers(second: float = 1.0) -> list[NcdevFakeProvider]:
    """All five fake providers of taskproc_fake."""
    return [NcdevFakeProvider(t, second) for t in _SHORT]
