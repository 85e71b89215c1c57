"""llama.cpp with SmolLM2-135M-Instruct from its wheel: it follows a simple instruction."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from services.dispatcher.engines import llama
from services.dispatcher.provider_interface import Provider
from tests.support.providers import RecordingContext


async def test_free_prompt_follows_an_instruction(make_provider: Callable[..., Provider],
                                                  ctx: RecordingContext) -> None:
    provider = make_provider(llama.free_prompt)
    assert isinstance(provider, llama.LlamaProvider)
    assert "SmolLM2-135M-Instruct" in provider.spec.name
    result = await provider.generate(
        {"input": "What is the capital of France? Answer in one word."}, ctx)
    assert "paris" in result.text.lower()
    assert 0 < result.completion_tokens <= 24 and result.prompt_tokens > 10
    assert ctx.progress_values and all(0 < v < 1 for v in ctx.progress_values)


async def test_chat_uses_history_and_context_write_returns_text(
        make_provider: Callable[..., Provider], ctx: RecordingContext) -> None:
    chat = make_provider(llama.chat)
    assert isinstance(chat, llama.LlamaProvider)
    inputs = {"input": "What is my name?", "system_prompt": "Answer in one short sentence.",
              "history": ['{"role": "user", "content": "Hello, my name is Alice."}',
                          '{"role": "assistant", "content": "Hello Alice!"}']}
    assert [m["role"] for m in chat.messages(inputs)] == ["system", "user", "assistant", "user"]
    out = await chat.process(inputs, ctx)  # 135M parameters: often wrong, but an answer
    assert out["output"].strip() and "User:" not in out["output"]
    write = make_provider(llama.context_write)
    out = await write.process({"style_input": "Dear Sir, I remain your servant.",
                               "source_input": "The meeting moved to noon."}, ctx)
    assert out["output"].strip()


async def test_cancel_stops_generation(make_provider: Callable[..., Provider],
                                       ctx: RecordingContext) -> None:
    """Cancel after the first token: the thread stops long before 2000 tokens."""
    provider = make_provider(llama.free_prompt, llm_max_tokens=2000, llm_context=2048)
    task = asyncio.create_task(provider.process({"input": "Write a very long story."}, ctx))
    await ctx.progressed.wait()
    reported = len(ctx.progress_values)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    assert task.cancelled()
    assert len(ctx.progress_values) == reported
    assert ctx.progress_values[-1] < 0.1
