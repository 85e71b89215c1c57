"""Chat messages for each text task type, and the enum values those types offer."""

from __future__ import annotations

from typing import Any

import orjson

from services.dispatcher.provider_interface import ProviderError

DETECT_LANGUAGE = "detect_language"

LANGUAGES: dict[str, str] = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "sv": "Swedish", "da": "Danish",
    "nb": "Norwegian Bokmål", "fi": "Finnish", "cs": "Czech", "sk": "Slovak", "hu": "Hungarian",
    "ro": "Romanian", "bg": "Bulgarian", "el": "Greek", "ru": "Russian", "uk": "Ukrainian",
    "tr": "Turkish", "ar": "Arabic", "he": "Hebrew", "fa": "Persian", "hi": "Hindi",
    "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "id": "Indonesian", "vi": "Vietnamese",
    "th": "Thai",
}
"""ISO 639-1 code -> English name, offered as enum values of the translate type."""

TONES: dict[str, str] = {
    "friendlier": "friendlier", "formal": "more formal", "funnier": "funnier",
    "casual": "more casual", "urgent": "more urgent",
}
"""Enum value -> how the instruction phrases it."""

_INSTRUCTIONS: dict[str, str] = {
    "core:text2text:summary": "Summarize the text the user sends. Reply with the summary only, "
                              "in the language of the text.",
    "core:text2text:headline": "Write a short headline for the text the user sends. Reply with "
                               "the headline only, without quotes.",
    "core:text2text:topics": "List the main topics of the text the user sends as a "
                             "comma-separated list. Reply with the list only.",
    "core:text2text:formalization": "Rewrite the text the user sends in a formal register. "
                                    "Reply with the rewritten text only.",
    "core:text2text:simplification": "Rewrite the text the user sends in simpler words, easy "
                                     "to understand. Reply with the rewritten text only.",
    "core:text2text:reformulation": "Reformulate the text the user sends with different words "
                                    "and the same meaning. Reply with the new text only.",
    "core:text2text:proofread": "Proofread the text the user sends. List the spelling, grammar "
                                "and style mistakes with corrections; say so if there are none.",
    "core:generateemoji": "Reply with one single emoji that best fits the text the user sends.",
}

_ROLES = {"human": "user", "user": "user", "assistant": "assistant", "ai": "assistant",
          "system": "system", "tool": "tool"}


def enum_values(names: dict[str, str]) -> list[dict[str, str]]:
    """`{value: label}` -> Nextcloud's ShapeEnumValue list."""
    return [{"name": label, "value": value} for value, label in names.items()]


def text_messages(task_type: str, inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Messages for the single-input text types (everything but chat, tools and vision)."""
    text = str(inputs.get("input") or "")
    if task_type == "core:text2text:translate":
        return _translate(inputs)
    if task_type == "core:text2text:changetone":
        tone = TONES.get(str(inputs.get("tone") or ""), str(inputs.get("tone") or "friendlier"))
        return _instructed(f"Rewrite the text the user sends so that it sounds {tone}. Reply "
                           "with the rewritten text only.", text)
    if task_type == "core:contextwrite":
        return _instructed(
            "Write a new text about the content described by the user, in the same style as "
            "this example text. Reply with the new text only.\n\nStyle example:\n"
            + str(inputs.get("style_input") or ""), str(inputs.get("source_input") or ""))
    if task_type in _INSTRUCTIONS:
        return _instructed(_INSTRUCTIONS[task_type], text)
    return [{"role": "user", "content": text}]


def _instructed(instruction: str, text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": instruction}, {"role": "user", "content": text}]


def _translate(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    origin = str(inputs.get("origin_language") or DETECT_LANGUAGE)
    target = str(inputs.get("target_language") or "en")
    source = "" if origin == DETECT_LANGUAGE else f" from {LANGUAGES.get(origin, origin)}"
    return _instructed(f"Translate the text the user sends{source} into "
                       f"{LANGUAGES.get(target, target)}. Reply with the translation only.",
                       str(inputs.get("input") or ""))


def chat_messages(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """System prompt, history, tool results and the new input, in OpenAI's message format."""
    messages: list[dict[str, Any]] = []
    if inputs.get("system_prompt"):
        messages.append({"role": "system", "content": str(inputs["system_prompt"])})
    messages.extend(history_message(item) for item in inputs.get("history") or [])
    messages.extend(tool_messages(str(inputs.get("tool_message") or "")))
    if inputs.get("input"):
        messages.append({"role": "user", "content": str(inputs["input"])})
    return messages


def history_message(item: Any) -> dict[str, Any]:
    """One history entry `{"role": "human"|"assistant", "content": …}`; plain text = user."""
    try:
        data = orjson.loads(item) if isinstance(item, str) else item
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return {"role": "user", "content": str(item)}
    role = _ROLES.get(str(data.get("role", "human")).lower(), "user")
    message: dict[str, Any] = {"role": role, "content": _content(data.get("content"))}
    if role == "assistant" and data.get("tool_calls"):
        message["tool_calls"] = [_openai_tool_call(c) for c in data["tool_calls"]]
    if role == "tool":
        message["tool_call_id"] = str(data.get("tool_call_id") or "")
    return message


def _content(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else orjson.dumps(value)
                                                 .decode())


def _openai_tool_call(call: dict[str, Any]) -> dict[str, Any]:
    """Nextcloud `{name, args, id}` (or OpenAI's own shape) -> OpenAI `function` tool call."""
    if "function" in call:
        return call
    return {"id": str(call.get("id") or ""), "type": "function",
            "function": {"name": str(call.get("name") or ""),
                         "arguments": orjson.dumps(call.get("args") or {}).decode()}}


def tool_messages(raw: str) -> list[dict[str, Any]]:
    """`tool_message`: a JSON array of `{name, content, tool_call_id}` -> `tool` messages."""
    items = _json_list(raw, "tool message")
    return [{"role": "tool", "tool_call_id": str(i.get("tool_call_id") or ""),
             "content": _content(i.get("content"))}
            for i in items if isinstance(i, dict)]


def tools_param(raw: str) -> list[dict[str, Any]]:
    """`tools`: an OpenAI tools JSON array; bare function objects are wrapped."""
    return [t if "function" in t else {"type": "function", "function": t}
            for t in _json_list(raw, "tools") if isinstance(t, dict)]


def _json_list(raw: str, what: str) -> list[Any]:
    if not raw.strip():
        return []
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProviderError(f"{what} is not JSON", f"The {what} input is not valid JSON.") from exc
    if not isinstance(data, list):
        raise ProviderError(f"{what} is not a JSON array", f"The {what} input must be a JSON "
                            "array.")
    return data
