"""Providers that exist only for tests: they exercise the pipeline, never the product."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from services.dispatcher.provider_interface import (
    Provider,
    ProviderContext,
    ProviderError,
    run_process,
)
from shared.keys import Keys
from shared.provider_spec import ProviderSpec
from shared.registry import ProviderRegistry
from shared.shapes import Shape, ShapeType


async def register_alive(redis: Redis, keys: Keys, *providers: Provider, ttl: int = 60) -> None:
    """Providers (default: an EchoProvider) alive in the registry, with no dispatcher running
    them: tasks of their types can be scheduled and stay scheduled."""
    for provider in providers or (EchoProvider(),):
        await ProviderRegistry(redis, keys).register(provider.spec, ttl)


class EchoProvider:
    """Returns its input upper-cased, reporting progress once."""

    def __init__(self, task_type: str = "core:text2text", pid: str = "test:echo",
                 expected_runtime: int = 10) -> None:
        self.spec = ProviderSpec(
            id=pid, name="Echo (tests)", task_type=task_type,
            expected_runtime=expected_runtime,
            optional_input_shape={"mode": Shape("Mode", "upper or lower", ShapeType.Enum),
                                  "count": Shape("Count", "a number", ShapeType.Number)},
            optional_input_shape_enum_values={"mode": [{"name": "Upper", "value": "upper"},
                                                       {"name": "Lower", "value": "lower"}]},
            optional_input_shape_defaults={"mode": "upper"})
        self.seen: list[int] = []

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        self.seen.append(ctx.task_id)
        await ctx.progress(0.5)
        text = str(inputs.get("input", ""))
        return {"output": text.upper() if inputs.get("mode") != "lower" else text.lower()}


class GateProvider:
    """Blocks until released (or cancelled); records starts and cancellations."""

    def __init__(self, task_type: str = "core:text2text", pid: str = "test:gate") -> None:
        self.spec = ProviderSpec(id=pid, name="Gate (tests)", task_type=task_type)
        self.started: asyncio.Queue[int] = asyncio.Queue()
        self.cancelled: asyncio.Queue[int] = asyncio.Queue()
        self.release = asyncio.Event()

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        await self.started.put(ctx.task_id)
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            await self.cancelled.put(ctx.task_id)
            raise
        return {"output": "released"}


class SubprocessProvider:
    """Runs a long subprocess (an 'engine') and reports its pid, to prove cancel kills it."""

    def __init__(self, task_type: str = "core:text2text", pid: str = "test:proc") -> None:
        self.spec = ProviderSpec(id=pid, name="Subprocess (tests)", task_type=task_type)
        self.pids: asyncio.Queue[int] = asyncio.Queue()

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        code = "import os, sys, time; print(os.getpid(), flush=True); time.sleep(600)"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        await self.pids.put(int((await proc.stdout.readline()).decode()))
        try:
            await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        return {"output": "finished"}


class FailingProvider:
    def __init__(self, task_type: str = "core:text2text", pid: str = "test:fail",
                 user_message: str | None = "The engine ran out of memory") -> None:
        self.spec = ProviderSpec(id=pid, name="Failing (tests)", task_type=task_type)
        self.user_message = user_message

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        raise ProviderError("CUDA error: out of memory at 0x7f", self.user_message)


class BadOutputProvider:
    def __init__(self, task_type: str = "core:text2text", pid: str = "test:bad") -> None:
        self.spec = ProviderSpec(id=pid, name="Bad output (tests)", task_type=task_type)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        return {"output": 42}


class ShellProvider:
    """Runs `sleep` through run_process, as subprocess engines do."""

    def __init__(self, task_type: str = "core:text2text", pid: str = "test:sleep") -> None:
        self.spec = ProviderSpec(id=pid, name="Sleep (tests)", task_type=task_type)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        await run_process(["sleep", str(inputs.get("input", "60"))])
        return {"output": "slept"}


class NoopProvider:
    """Does nothing: for throughput benchmarks."""

    def __init__(self, task_type: str = "core:text2text", pid: str = "test:noop") -> None:
        self.spec = ProviderSpec(id=pid, name="No-op", task_type=task_type)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        return {"output": ""}


class TranscribeFileProvider:
    """core:audio2text: reads its input file through the context and returns its text."""

    def __init__(self, task_type: str = "core:audio2text", pid: str = "test:transcribe") -> None:
        self.spec = ProviderSpec(id=pid, name="Transcribe file (tests)", task_type=task_type)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        path = await ctx.read_file(int(inputs["input"]))
        data = await asyncio.to_thread(path.read_bytes)
        return {"output": data.decode("utf-8", "replace")}


class ImageFilesProvider:
    """core:text2image: one output file each way a provider can give one (bytes, a Path, an id
    from ctx.write_file). Paths are written under `workdir`."""

    def __init__(self, workdir: Path, task_type: str = "core:text2image",
                 pid: str = "test:images") -> None:
        self.spec = ProviderSpec(id=pid, name="Image files (tests)", task_type=task_type)
        self.workdir = workdir

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        prompt = str(inputs["input"]).encode()
        path = self.workdir / f"image-{ctx.task_id}.png"
        if prompt != b"missing":
            await asyncio.to_thread(path.write_bytes, b"\x89PNG\r\n\x1a\n" + prompt + b"-path")
        stored = await ctx.write_file(b"\x89PNG\r\n\x1a\n" + prompt + b"-ctx", "ctx.png")
        return {"images": [b"\x89PNG\r\n\x1a\n" + prompt + b"-bytes", path, stored]}


class RecordingContext:
    """A ProviderContext for calling a provider directly (engine and OpenAI-compatible tests):
    files live in a directory, progress is recorded (and must be a fraction)."""

    def __init__(self, root: Path) -> None:
        self.task_id = 1
        self.user_id: str | None = "alice"
        self.include_watermark = False
        self.root = root
        self.files: dict[int, Path] = {}
        self.progress_values: list[float] = []
        self.progressed = asyncio.Event()

    def add_file(self, source: Path | bytes, name: str = "input") -> int:
        """Register an input file; returns its file id."""
        file_id = len(self.files) + 1
        path = self.root / f"{file_id}-{name}"
        path.write_bytes(source if isinstance(source, bytes) else source.read_bytes())
        self.files[file_id] = path
        return file_id

    async def progress(self, fraction: float) -> None:
        assert 0.0 <= fraction <= 1.0
        self.progress_values.append(fraction)
        self.progressed.set()

    async def read_file(self, file_id: int) -> Path:
        return self.files[file_id]

    async def write_file(self, data: bytes | Path, name: str = "output") -> int:
        return self.add_file(data, name)
