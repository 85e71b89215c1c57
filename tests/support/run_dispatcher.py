"""A dispatcher process with test-only providers, for tests that kill or signal it.

Usage: python -m tests.support.run_dispatcher KIND[:TASK_TYPE[:PROVIDER_ID]] …
Kinds: hold (publishes "started <task id> <pid>" on {prefix}:chan:test, then waits forever),
echo, noop, count (records completed runs; see CountProvider), images (core:text2image with
output files; scratch files under TEST_WORKDIR), transcribe (core:audio2text reading its
input file), speak (core:text2speech: writes the text as a "WAV" file). Settings come from
TASKPROC_* variables like the real dispatcher.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from services.dispatcher.main import DispatcherProcess
from services.dispatcher.provider_interface import Provider, ProviderContext
from shared import logs
from shared.provider_spec import ProviderSpec
from shared.redis import connect
from shared.settings import Settings
from tests.support.providers import (
    EchoProvider,
    ImageFilesProvider,
    NoopProvider,
    TranscribeFileProvider,
)


class HoldProvider:
    def __init__(self, settings: Settings, task_type: str, pid: str) -> None:
        self.spec = ProviderSpec(id=pid, name="Hold (tests)", task_type=task_type)
        self.settings = settings

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        redis = connect(self.settings)
        await redis.publish(f"{self.settings.key_prefix}:chan:test",
                            f"started {ctx.task_id} {os.getpid()}")
        await redis.aclose()
        await asyncio.Event().wait()
        return {}


class CountProvider:
    """Echoes after `TEST_WORK_SECONDS` (default 0.2 s) of work; counts each completed
    run in `{prefix}:test:completed` (task id -> runs) before it returns."""

    def __init__(self, settings: Settings, task_type: str, pid: str) -> None:
        self.spec = ProviderSpec(id=pid, name="Count (tests)", task_type=task_type)
        self.settings = settings
        self.redis = connect(settings)
        self.work = float(os.environ.get("TEST_WORK_SECONDS", "0.2"))

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        await asyncio.sleep(self.work)
        await self.redis.hincrby(f"{self.settings.key_prefix}:test:completed",  # type: ignore[misc]
                                 str(ctx.task_id), 1)
        return {"output": str(inputs.get("input", "")).upper()}


class SpeakProvider:
    """core:text2speech: the output file holds a RIFF header and the input text."""

    def __init__(self, task_type: str, pid: str) -> None:
        self.spec = ProviderSpec(id=pid, name="Speak (tests)", task_type=task_type)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        data = b"RIFF\x00\x00\x00\x00WAVE" + str(inputs.get("input", "")).encode()
        return {"speech": await ctx.write_file(data, "speech.wav")}


def build(settings: Settings, arg: str) -> Provider:
    kind, _, rest = arg.partition(":")
    ttype, _, pid = rest.rpartition(":") if rest.count(":") > 2 else (rest, "", "")
    ttype = ttype or "core:text2text"
    if kind == "hold":
        return HoldProvider(settings, ttype, pid or "test:hold")
    if kind == "count":
        return CountProvider(settings, ttype, pid or f"test:count:{ttype}")
    if kind == "echo":
        return EchoProvider(ttype, pid or "test:echo")
    if kind == "images":
        workdir = Path(os.environ.get("TEST_WORKDIR", tempfile.gettempdir()))
        return ImageFilesProvider(workdir)
    if kind == "transcribe":
        return TranscribeFileProvider()
    if kind == "speak":
        return SpeakProvider("core:text2speech", pid or "test:speak")
    return NoopProvider(ttype, pid or "test:noop")


async def main(argv: list[str]) -> None:
    settings = Settings.from_env()
    logs.setup("INFO")
    await DispatcherProcess(settings, [build(settings, a) for a in argv],
                            handle_signals=True).run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
