"""The provider classes: one per endpoint kind, all sharing one OpenAIClient."""

from __future__ import annotations

import asyncio
import base64
import mimetypes
from pathlib import Path
from typing import Any

import aiohttp

from services.dispatcher.engines.openai_compat.chat import complete_chat, to_nextcloud_tool_calls
from services.dispatcher.engines.openai_compat.client import Endpoint, OpenAIClient
from services.dispatcher.engines.openai_compat.errors import BadBackendResponse
from services.dispatcher.engines.openai_compat.prompts import (
    chat_messages,
    text_messages,
    tools_param,
)
from services.dispatcher.provider_interface import ProviderContext, ProviderError
from shared.provider_spec import ProviderSpec
from shared.settings_openai import OpenAISettings

_MAX_IMAGES = 10
_SNIFF = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif",
          b"RIFF": "image/webp"}


class OpenAIProvider:
    """Common state: the spec, the shared client, the endpoint and the settings."""

    def __init__(self, spec: ProviderSpec, client: OpenAIClient, ep: Endpoint,
                 cfg: OpenAISettings) -> None:
        self.spec = spec
        self._client = client
        self._ep = ep
        self._cfg = cfg

    async def close(self) -> None:
        """Close the shared HTTP session (idempotent; any provider of the set may call it)."""
        await self._client.close()

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        """Do the work; each endpoint kind overrides this."""
        raise NotImplementedError

    def _chat_payload(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self._ep.model, "messages": messages,
                                   "max_tokens": self._cfg.max_tokens}
        if self._cfg.temperature is not None:
            payload["temperature"] = self._cfg.temperature
        return payload


class ChatProvider(OpenAIProvider):
    """Every text type through /chat/completions, including chat and chat with tools."""

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        task_type = self.spec.task_type
        is_chat = task_type in ("core:text2text:chat", "core:text2text:chatwithtools")
        messages = chat_messages(inputs) if is_chat else text_messages(task_type, inputs)
        payload = self._chat_payload(messages)
        if task_type == "core:text2text:chatwithtools":
            tools = tools_param(str(inputs.get("tools") or ""))
            if tools:
                payload["tools"] = tools
        result = await complete_chat(self._client, self._ep, payload, ctx, self._cfg.stream)
        output: dict[str, Any] = {"output": result.content.strip()}
        if task_type == "core:text2text:chatwithtools":
            output["tool_calls"] = to_nextcloud_tool_calls(result.tool_calls)
        return output


class VisionProvider(OpenAIProvider):
    """core:analyze-images: the question and the images (as data URLs) in one user message."""

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [{"type": "text", "text": str(inputs.get("input") or "")}]
        for file_id in inputs.get("images") or []:
            path = await ctx.read_file(int(file_id))
            url = await asyncio.to_thread(data_url, path)
            parts.append({"type": "image_url", "image_url": {"url": url}})
        payload = self._chat_payload([{"role": "user", "content": parts}])
        result = await complete_chat(self._client, self._ep, payload, ctx, self._cfg.stream)
        return {"output": result.content.strip()}


class TranscriptionProvider(OpenAIProvider):
    """core:audio2text through /audio/transcriptions (multipart upload)."""

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        path = await ctx.read_file(int(inputs["input"]))
        audio = await asyncio.to_thread(path.read_bytes)

        def form() -> dict[str, Any]:
            data = aiohttp.FormData()
            data.add_field("file", audio, filename=path.name or "audio",
                           content_type=mimetypes.guess_type(path.name)[0]
                           or "application/octet-stream")
            data.add_field("model", self._ep.model)
            data.add_field("response_format", "json")
            return {"data": data}

        body = await self._client.post_json(self._ep, "/audio/transcriptions", form)
        if not isinstance(body.get("text"), str):
            raise BadBackendResponse(self._ep.url("/audio/transcriptions"), "no text")
        return {"output": body["text"].strip()}


class SpeechProvider(OpenAIProvider):
    """core:text2speech through /audio/speech; the audio bytes go to the `speech` slot."""

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        payload = {"model": self._ep.model, "input": str(inputs.get("input") or ""),
                   "voice": self._cfg.voice, "response_format": self._cfg.speech_format}
        audio = await self._client.post_bytes(self._ep, "/audio/speech",
                                              lambda: {"json": payload})
        if not audio:
            raise BadBackendResponse(self._ep.url("/audio/speech"), "empty audio")
        return {"speech": audio}


class ImageProvider(OpenAIProvider):
    """core:text2image through /images/generations; a list of image bytes in `images`."""

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        wanted = _image_count(inputs.get("numberOfImages"))
        images: list[bytes] = []
        while len(images) < wanted:
            batch = await self._generate(str(inputs.get("input") or ""), wanted - len(images))
            if not batch:
                raise BadBackendResponse(self._ep.url("/images/generations"), "no images")
            images.extend(batch)
            await ctx.progress(min(0.95, len(images) / wanted))
        return {"images": images[:wanted]}

    async def _generate(self, prompt: str, n: int) -> list[bytes]:
        payload: dict[str, Any] = {"model": self._ep.model, "prompt": prompt, "n": n,
                                   "size": self._cfg.image_size}
        if self._cfg.image_response_format:
            payload["response_format"] = self._cfg.image_response_format
        url = self._ep.url("/images/generations")
        body = await self._client.post_json(self._ep, "/images/generations",
                                            lambda: {"json": payload})
        out: list[bytes] = []
        for item in body.get("data") or []:
            if item.get("b64_json"):
                out.append(_b64(url, str(item["b64_json"])))
            elif item.get("url"):
                out.append(await self._client.get_bytes(str(item["url"])))
        return out


def _image_count(value: Any) -> int:
    try:
        n = int(float(value if value is not None else 1))
    except (TypeError, ValueError) as exc:
        raise ProviderError(f"numberOfImages {value!r}", "The number of images must be a "
                            "number.") from exc
    return max(1, min(n, _MAX_IMAGES))


def _b64(url: str, data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except ValueError as exc:
        raise BadBackendResponse(url, "image is not base64") from exc


def data_url(path: Path) -> str:
    """A `data:` URL for an image file; the type comes from its first bytes, then its name."""
    raw = path.read_bytes()
    mime = next((m for magic, m in _SNIFF.items() if raw.startswith(magic)), None)
    mime = mime or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(raw).decode()}"
