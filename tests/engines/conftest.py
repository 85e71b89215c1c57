"""Fixtures for the real-engine tests: a recording ProviderContext and engine availability.

A test whose engine is absent is skipped with the reason, except under CI (env var CI set),
where an absent engine is a failure: CI installs every engine (see docs/engines.md).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from services.dispatcher.provider_interface import Provider, ProviderUnavailable
from shared.settings_engines import EngineSettings

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


class RecordingContext:
    """A ProviderContext serving input files from a directory and recording progress."""

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


def unavailable(reason: str) -> None:
    """Skip locally, fail under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"engine missing under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def ctx(tmp_path: Path) -> RecordingContext:
    return RecordingContext(tmp_path)


@pytest.fixture(scope="session")
def engine_settings(tmp_path_factory: pytest.TempPathFactory) -> EngineSettings:
    """Engine settings for tests: the GGUF is assembled once into a session temp dir."""
    return EngineSettings(model_dir=tmp_path_factory.mktemp("models"), llm_max_tokens=24,
                          llm_context=512, llm_temperature=0.0)


@pytest.fixture
def make_provider(engine_settings: EngineSettings) -> Callable[..., Provider]:
    """Build a provider from a factory, skipping (or failing under CI) when it is unavailable."""
    def make(factory: Callable[[EngineSettings], Provider], **overrides: object) -> Provider:
        settings = engine_settings.model_copy(update=overrides) if overrides else engine_settings
        try:
            return factory(settings)
        except ProviderUnavailable as exc:
            unavailable(str(exc))
            raise
    return make
