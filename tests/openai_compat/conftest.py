"""Fixtures of the OpenAI-compatible provider tests: a recording ProviderContext, the real
loopback servers (skipped locally without .tools/openai-servers, failing under CI), and an
in-process fake upstream for the error paths."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from services.dispatcher.engines.openai_compat import openai_providers
from services.dispatcher.provider_interface import Provider
from shared.settings import Settings
from tests.support.openai import ProvidersFactory, Start
from tests.support.providers import RecordingContext
from tests.support.required import unavailable

from .servers import (
    GGUF,
    TOOLS_PY,
    LoopbackServer,
    llama_server,
    tts_server,
    whisper_server,
)


@pytest.fixture
def ctx(tmp_path: Path) -> RecordingContext:
    return RecordingContext(tmp_path)


@pytest.fixture
async def make_providers() -> AsyncIterator[ProvidersFactory]:
    """Build providers from `openai` settings (a dict); their session is closed afterwards."""
    built: list[Provider] = []

    async def make(**openai: Any) -> dict[str, Provider]:
        active, _ = openai_providers(Settings.from_env({}, openai=openai))
        built.extend(active)
        return {p.spec.task_type: p for p in active}

    yield make
    for p in built:
        await p.close()  # type: ignore[attr-defined]


def _require_tools() -> None:
    if not (TOOLS_PY.exists() and GGUF.exists()):
        unavailable(".tools/openai-servers is not installed; run "
                    "scripts/openai-servers-install.sh")


def _serve(factory: Callable[[Path], LoopbackServer],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    _require_tools()
    server = factory(tmp_path_factory.mktemp("server")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    yield from _serve(llama_server, tmp_path_factory)


@pytest.fixture(scope="session")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    yield from _serve(whisper_server, tmp_path_factory)


@pytest.fixture(scope="session")
def tts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    yield from _serve(tts_server, tmp_path_factory)


@pytest.fixture
async def fake_upstream() -> AsyncIterator[Start]:
    """Serve an aiohttp app on a free loopback port (aiohttp's examples/fake_server.py pattern);
    returns its /v1 base URL."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/v1"

    yield start
    for runner in runners:
        await runner.cleanup()
