"""Fixtures for the real-engine tests: a recording ProviderContext and engine availability.

A test whose engine is absent is skipped with the reason, except under CI (env var CI set),
where an absent engine is a failure (`tests.support.required`): CI installs every engine (see
docs/engines.md).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from services.dispatcher.provider_interface import Provider, ProviderUnavailable
from shared.settings_engines import EngineSettings
from tests.support.providers import RecordingContext
from tests.support.required import unavailable


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
