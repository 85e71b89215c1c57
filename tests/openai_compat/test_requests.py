"""What the provider sends and how it reads answers, per endpoint kind, and which task types
the settings offer."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from services.dispatcher.engines.openai_compat import openai_providers
from shared.settings import Settings
from tests.support.openai import ProvidersFactory, Start, Upstream
from tests.support.providers import RecordingContext

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 16


def test_nothing_configured_offers_nothing() -> None:
    active, skipped = openai_providers(Settings.from_env({}))
    assert active == []
    assert ("taskproc:openai:core:text2image",
            "no backend configured for core:text2image (openai.task_types)") in skipped


def test_env_configuration_and_key_scoping() -> None:
    env = {"TASKPROC_OPENAI__BASE_URL": "http://a/v1", "TASKPROC_OPENAI__API_KEY": "sk-a",
           "TASKPROC_OPENAI__TASK_TYPES": orjson.dumps({
               "core:audio2text": {"base_url": "http://b/v1"},
               "core:text2text:topics": {"enabled": False},
               "core:text2text:summary": {"model": "big"},
               "custom:thing": {}}).decode()}
    active, skipped = openai_providers(Settings.from_env(env))
    by_type = {p.spec.task_type: p for p in active}
    assert "core:text2image" not in by_type and "core:text2text:topics" not in by_type
    assert by_type["core:audio2text"]._ep.api_key is None  # type: ignore[attr-defined]
    assert by_type["core:text2text"]._ep.api_key == "sk-a"  # type: ignore[attr-defined]
    assert by_type["core:text2text:summary"].spec.name == "OpenAI-compatible: big"
    assert by_type["core:text2text"].spec.id == "taskproc:openai:core:text2text"
    assert dict(skipped)["taskproc:openai:custom:thing"].startswith("task type not supported")
    assert "sk-a" not in repr(Settings.from_env(env))


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events) + b"data: [DONE]\n\n"


async def test_chatwithtools_streamed_tool_calls(fake_upstream: Start,
                                                 make_providers: ProvidersFactory,
                                                 ctx: RecordingContext) -> None:
    def delta(**d: Any) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": d}]}
    stream = sse(delta(tool_calls=[{"index": 0, "id": "c1", "function": {
                     "name": "get_weather", "arguments": '{"ci'}}]),
                 delta(tool_calls=[{"index": 0, "function": {"arguments": 'ty": "Paris"}'}}]))
    up = Upstream([(200, stream, {})])
    providers = await make_providers(base_url=await fake_upstream(up.app))
    history = [orjson.dumps({"role": "human", "content": "Weather?"}).decode(),
               orjson.dumps({"role": "assistant", "content": "", "tool_calls": [
                   {"name": "get_weather", "args": {"city": "Rome"}, "id": "c0",
                    "type": "tool_call"}]}).decode()]
    out = await providers["core:text2text:chatwithtools"].process({
        "system_prompt": "Be brief", "input": "And Paris?", "history": history,
        "tool_message": orjson.dumps([{"name": "get_weather", "content": "sunny",
                                       "tool_call_id": "c0"}]).decode(),
        "tools": orjson.dumps([{"name": "get_weather", "parameters": {}}]).decode()}, ctx)
    assert orjson.loads(out["tool_calls"]) == [
        {"name": "get_weather", "type": "tool_call", "id": "c1", "args": {"city": "Paris"}}]
    sent = orjson.loads(up.requests[0]["body"])
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool", "user"]
    assert sent["messages"][2]["tool_calls"][0]["function"]["arguments"] == '{"city":"Rome"}'
    assert sent["tools"][0]["type"] == "function" and sent["stream"] is True


async def test_transcription_form_is_rebuilt_on_retry(fake_upstream: Start,
                                                      make_providers: ProvidersFactory,
                                                      ctx: RecordingContext) -> None:
    up = Upstream([(500, {"detail": "boom"}, {}), (200, {"text": " hello "}, {})])
    url = await fake_upstream(up.app)
    providers = await make_providers(task_types={"core:audio2text": {"base_url": url}},
                                     backoff_base_seconds=0.01)
    file_id = ctx.add_file(b"RIFF....WAVE", "a.wav")
    out = await providers["core:audio2text"].process({"input": file_id}, ctx)
    assert out == {"output": "hello"}
    assert len(up.requests) == 2 and b"whisper-1" in up.requests[1]["body"]
    assert b"RIFF....WAVE" in up.requests[1]["body"]


async def test_images_speech_and_vision(fake_upstream: Start, make_providers: ProvidersFactory,
                                        ctx: RecordingContext) -> None:
    img = {"data": [{"b64_json": base64.b64encode(PNG).decode()}]}
    images_up = Upstream([(200, img, {})])
    speech_up = Upstream([(200, b"RIFFaudio", {})])
    vision_up = Upstream([(200, {"choices": [{"message": {"content": "a cat"}}]}, {})])
    providers = await make_providers(stream=False, task_types={
        "core:text2image": {"base_url": await fake_upstream(images_up.app)},
        "core:text2speech": {"base_url": await fake_upstream(speech_up.app)},
        "core:analyze-images": {"base_url": await fake_upstream(vision_up.app), "model": "v"}})
    out = await providers["core:text2image"].process({"input": "cat", "numberOfImages": 2}, ctx)
    assert out == {"images": [PNG, PNG]} and len(images_up.requests) == 2
    assert orjson.loads(images_up.requests[0]["body"])["response_format"] == "b64_json"
    out = await providers["core:text2speech"].process({"input": "hi"}, ctx)
    assert out == {"speech": b"RIFFaudio"}
    image_id = ctx.add_file(PNG, "x.bin")
    out = await providers["core:analyze-images"].process({"input": "what?",
                                                          "images": [image_id]}, ctx)
    assert out == {"output": "a cat"}
    parts = orjson.loads(vision_up.requests[0]["body"])["messages"][0]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
