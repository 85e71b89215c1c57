"""llama.cpp with the gemma-3-270m base model: plumbing only (non-empty, tokens, cancel)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from services.dispatcher.engines import llama
from services.dispatcher.provider_interface import Provider
from tests.engines.conftest import RecordingContext


async def test_free_prompt_generates_and_counts_tokens(make_provider: Callable[..., Provider],
                                                       ctx: RecordingContext) -> None:
    provider = make_provider(llama.free_prompt)
    assert isinstance(provider, llama.LlamaProvider)
    result = await provider.generate({"input": "The capital of France is"}, ctx)
    assert result.text
    assert 0 < result.completion_tokens <= 24
    assert ctx.progress_values and all(0 < v < 1 for v in ctx.progress_values)


async def test_chat_and_context_write_return_text(make_provider: Callable[..., Provider],
                                                  ctx: RecordingContext) -> None:
    chat = make_provider(llama.chat)
    out = await chat.process({"input": "Name a colour.", "system_prompt": "Be brief.",
                              "history": ['{"role": "user", "content": "Hello"}',
                                          '{"role": "assistant", "content": "Hi!"}']}, ctx)
    assert isinstance(out["output"], str)
    write = make_provider(llama.context_write)
    out = await write.process({"style_input": "Dear Sir, I remain your servant.",
                               "source_input": "The meeting moved to noon."}, ctx)
    assert out["output"]


async def test_cancel_stops_generation(make_provider: Callable[..., Provider],
                                       ctx: RecordingContext) -> None:
    """Cancel after the first token: the thread stops long before 2000 tokens."""
    provider = make_provider(llama.free_prompt, llm_max_tokens=2000, llm_context=2048)
    task = asyncio.create_task(provider.process({"input": "Once upon a time"}, ctx))
    await ctx.progressed.wait()
    reported = len(ctx.progress_values)
    started = time.monotonic()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    assert task.cancelled()
    assert time.monotonic() - started < 3.0
    assert len(ctx.progress_values) == reported
    assert ctx.progress_values[-1] < 0.1
