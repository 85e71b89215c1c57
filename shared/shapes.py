"""Shape types, slot descriptors and the task-type model (Nextcloud's OCP TaskProcessing
ShapeDescriptor, ShapeEnumValue and EShapeType).

A task type declares mandatory input and output slots; providers add optional slots, enum values
and defaults. Everything here is plain data shared by the api (validation, `/tasktypes`) and the
dispatcher (output validation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class ShapeType(IntEnum):
    """Nextcloud's EShapeType: the int is what nc_py_api sends, the name is what OCS shows."""

    Number = 0
    Text = 1
    Image = 2
    Audio = 3
    Video = 4
    File = 5
    Enum = 6
    ListOfNumbers = 10
    ListOfTexts = 11
    ListOfImages = 12
    ListOfAudios = 13
    ListOfVideos = 14
    ListOfFiles = 15

    @property
    def scalar(self) -> ShapeType:
        """The element type of a list type, or the type itself."""
        return ShapeType(self.value % 10)

    @property
    def is_list(self) -> bool:
        return self.value >= 10

    @property
    def is_file(self) -> bool:
        return self.scalar in _FILE_SCALARS

    @classmethod
    def parse(cls, value: object) -> ShapeType:
        """Accept the int (nc_py_api) or the name (OCS JSON)."""
        if isinstance(value, bool):
            raise ValueError(f"invalid shape type {value!r}")
        if isinstance(value, int):
            return cls(value)
        if isinstance(value, str):
            if value.isdigit():
                return cls(int(value))
            return cls[value]
        raise ValueError(f"invalid shape type {value!r}")


_FILE_SCALARS = frozenset({ShapeType.Image, ShapeType.Audio, ShapeType.Video, ShapeType.File})


@dataclass(frozen=True)
class Shape:
    """A slot descriptor: `{"name", "description", "type"}` on the wire."""

    name: str
    description: str
    type: ShapeType

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "description": self.description, "type": self.type.name}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Shape:
        return cls(str(data.get("name", "")), str(data.get("description", "")),
                   ShapeType.parse(data["type"]))


ShapeMap = dict[str, Shape]
EnumValues = dict[str, list[dict[str, str]]]
Defaults = dict[str, "str | int | float"]


def shapes_to_json(shapes: ShapeMap) -> dict[str, dict[str, str]]:
    return {k: v.to_json() for k, v in shapes.items()}


def shapes_from_json(data: dict[str, Any] | list[Any] | None) -> ShapeMap:
    if not data:
        return {}
    if isinstance(data, list):  # nc_py_api sends lists of {name, description, shape_type}
        return {str(d["name"]): Shape(str(d.get("name", "")), str(d.get("description", "")),
                                      ShapeType.parse(d.get("shape_type", d.get("type"))))
                for d in data}
    return {k: Shape.from_json(v) for k, v in data.items()}


@dataclass(frozen=True)
class TaskType:
    """A task type: its id, wording and mandatory slots."""

    id: str
    name: str
    description: str
    input_shape: ShapeMap
    output_shape: ShapeMap
    is_internal: bool = False
    custom: bool = field(default=False, compare=False)


def _s(name: str, description: str, type_: ShapeType) -> Shape:
    return Shape(name, description, type_)


T, N, E = ShapeType.Text, ShapeType.Number, ShapeType.Enum
_TEXT_IN = _s("Original text", "The original text", T)


def _text_type(id_: str, name: str, desc: str, in_name: str, in_desc: str, out_name: str,
               out_desc: str, internal: bool = False) -> TaskType:
    return TaskType(id_, name, desc, {"input": _s(in_name, in_desc, T)},
                    {"output": _s(out_name, out_desc, T)}, internal)


_CHAT_HISTORY = _s("Chat history", "The history of chat messages before the current message, "
                   "starting with a message by the user", ShapeType.ListOfTexts)
_SYSTEM_PROMPT = _s("System prompt", "Define rules and assumptions that the assistant should "
                    "follow during the conversation.", T)
_TOOLS = _s("Available tools", "The available tools in JSON format", T)
_TOOL_MESSAGE = _s("Tool message", "The result of tool calls in the last interaction", T)
_TOOL_CALLS = _s("Tool calls", "Tools call instructions from the model in JSON format", T)
_CONFIRMATION = _s("Confirmation", "Whether to confirm previously requested actions: "
                   "0 for denial and 1 for confirmation.", N)
_CONV_TOKEN_IN = _s("Conversation token", "A token representing the conversation.", T)
_CONV_TOKEN_OUT = _s("The new conversation token", "Send this along with the next interaction.", T)
_ACTIONS = _s("Requested actions by the agent", "Actions that the agent would like to carry out "
              "in JSON format.", T)
_AUDIO_IN = _s("Input audio", "The audio input", ShapeType.Audio)
_IN_TRANSCRIPT = _s("Input transcript", "Transcription of the audio input", T)
_OUT_AUDIO = _s("Response voice message", "The generated voice response", ShapeType.Audio)
_OUT_TRANSCRIPT = _s("Output transcript", "Transcription of the audio output", T)
_ATTACH_IN = _s("Input attachments", "Files attached to the message", ShapeType.ListOfFiles)
_ATTACH_OUT = _s("Output attachments", "Files generated by the model", ShapeType.ListOfFiles)
_LANG_FROM = _s("Origin language", "The language of the origin text", E)
_LANG_TO = _s("Target language", "The desired language to translate the origin text in", E)

CORE_TASK_TYPES: dict[str, TaskType] = {t.id: t for t in [
    _text_type("core:text2text", "Free text to text prompt",
               "Runs an arbitrary prompt through a language model that returns a reply",
               "Prompt", "Describe a task that you want the assistant to do or ask a question",
               "Generated reply", "The generated text from the assistant"),
    TaskType("core:text2text:chat", "Chat", "Chat with the assistant",
             {"system_prompt": _SYSTEM_PROMPT,
              "input": _s("Chat message", "Describe a task that you want the assistant to do "
                          "or ask a question", T),
              "history": _CHAT_HISTORY},
             {"output": _s("Response message", "The generated response as part of the "
                           "conversation", T)}),
    _text_type("core:text2text:summary", "Summarize", "Summarizes a text",
               "Original text", "The original text to summarize",
               "Summary", "The generated summary"),
    _text_type("core:text2text:headline", "Generate headline",
               "Generates a possible headline for a text.",
               "Original text", "The original text to generate a headline for",
               "Headline", "The generated headline", internal=True),
    _text_type("core:text2text:topics", "Extract topics",
               "Extracts topics from a text and outputs them separated by commas",
               "Original text", "The original text to extract topics from",
               "Topics", "The list of extracted topics", internal=True),
    _text_type("core:text2text:formalization", "Formalize text",
               "Takes a text and makes it sound more formal",
               "Input text", "Write a text that you want the assistant to formalize",
               "Generated response", "The formalized text", internal=True),
    _text_type("core:text2text:simplification", "Simplify text",
               "Takes a text and simplifies it",
               "Original text", "The text to simplify",
               "Generated response", "The simplified text", internal=True),
    _text_type("core:text2text:reformulation", "Reformulate text",
               "Takes a text and reformulates it",
               "Original text", "The text to reformulate",
               "Generated response", "The reformulated text", internal=True),
    TaskType("core:text2text:translate", "Translate", "Translate text from one language to another",
             {"input": _s("Origin text", "The text to translate", T),
              "origin_language": _LANG_FROM, "target_language": _LANG_TO},
             {"output": _s("Result", "The translated text", T)}),
    TaskType("core:contextwrite", "Context write",
             "Writes text in a given style based on the provided source material.",
             {"style_input": _s("Writing style", "Demonstrate a writing style that you would "
                                "like to imitate", T),
              "source_input": _s("Source material", "The content that would like to be "
                                 "rewritten in the new writing style", T)},
             {"output": _s("Generated text", "The generated text with content from the source "
                           "material in the given style", T)}),
    _text_type("core:generateemoji", "Emoji generator",
               "Takes text and generates a representative emoji for it.",
               "Text", "The text to generate an emoji for",
               "Generated emoji", "The generated emoji based on the input text", internal=True),
    TaskType("core:text2image", "Generate image", "Generate an image from a text prompt",
             {"input": _s("Prompt", "Describe the image you want to generate", T),
              "numberOfImages": _s("Number of images", "How many images to generate", N)},
             {"images": _s("Output images", "The generated images", ShapeType.ListOfImages)}),
    TaskType("core:audio2text", "Transcribe audio", "Transcribe the things said in an audio",
             {"input": _s("Audio input", "The audio to transcribe", ShapeType.Audio)},
             {"output": _s("Transcription", "The transcribed text", T)}),
    TaskType("core:text2text:changetone", "Change Tone", "Change the tone of a piece of text.",
             {"input": _s("Input text", "Write a text that you want the assistant to rewrite "
                          "in another tone.", T),
              "tone": _s("Desired tone", "In which tone should your text be rewritten?", E)},
             {"output": _s("Generated response", "The rewritten text in the desired tone, "
                           "written by the assistant:", T)}),
    _text_type("core:text2text:proofread", "Proofread",
               "Proofreads a text and lists corrections",
               "Text", "The text to proofread",
               "Corrections", "The corrections that should be made in your text"),
    TaskType("core:text2text:chatwithtools", "Chat with tools",
             "Chat with the language model with tool calling support.",
             {"system_prompt": _SYSTEM_PROMPT,
              "input": _s("Chat message", "Describe a task that you want the assistant to do "
                          "or ask a question", T),
              "tool_message": _TOOL_MESSAGE, "history": _CHAT_HISTORY, "tools": _TOOLS},
             {"output": _s("Generated response", "The response from the chat model", T),
              "tool_calls": _TOOL_CALLS}, is_internal=True),
    TaskType("core:contextagent:interaction", "Context Agent",
             "Chat with an agent that can use tools",
             {"input": _s("Chat message", "A chat message to send to the agent.", T),
              "confirmation": _CONFIRMATION, "conversation_token": _CONV_TOKEN_IN},
             {"output": _s("Generated response", "The response from the chat model.", T),
              "conversation_token": _CONV_TOKEN_OUT, "actions": _ACTIONS}, is_internal=True),
    TaskType("core:text2speech", "Generate speech", "Generate speech from a transcript",
             {"input": _s("Prompt", "Write the text that you want the assistant to generate "
                          "speech from", T)},
             {"speech": _s("Output speech", "The generated speech", ShapeType.Audio)}),
    TaskType("core:analyze-images", "Analyze images", "Ask a question about the given images.",
             {"images": _s("Images", "Images to ask a question about", ShapeType.ListOfImages),
              "input": _s("Question", "What to ask about the images.", T)},
             {"output": _s("Generated response", "The answer to the question", T)}),
    TaskType("core:audio2audio:chat", "Voice chat", "Voice chat with the assistant",
             {"system_prompt": _SYSTEM_PROMPT, "input": _AUDIO_IN, "history": _CHAT_HISTORY},
             {"input_transcript": _IN_TRANSCRIPT, "output": _OUT_AUDIO,
              "output_transcript": _OUT_TRANSCRIPT}, is_internal=True),
    TaskType("core:contextagent:audio-interaction", "Context Agent audio",
             "Chat by voice with an agent",
             {"input": _AUDIO_IN, "confirmation": _CONFIRMATION,
              "conversation_token": _CONV_TOKEN_IN},
             {"input_transcript": _IN_TRANSCRIPT, "output": _OUT_AUDIO,
              "output_transcript": _OUT_TRANSCRIPT, "conversation_token": _CONV_TOKEN_OUT,
              "actions": _ACTIONS}, is_internal=True),
    TaskType("core:image2text:ocr", "Optical character recognition",
             "Extract text from files like images or PDFs",
             {"input": _s("Input files", "The files to extract text from", ShapeType.ListOfFiles)},
             {"output": _s("Output texts", "The texts that were extracted from the files",
                           ShapeType.ListOfTexts)}),
    _text_type("core:text2text:reformatparagraphs", "Reformat paragraphs",
               "Reformats a text into well formed paragraphs",
               "Input text", "The text to reformat",
               "Generated response", "The reformatted text", internal=True),
    TaskType("core:audio2audio:translate", "Translate audio",
             "Translate spoken audio from one language to another",
             {"input": _s("Input audio", "The audio to translate", ShapeType.Audio),
              "origin_language": _s("Origin language", "The language of the audio", E),
              "target_language": _s("Target language", "The language to translate into", E)},
             {"audio_output": _s("Translated audio", "The translated audio", ShapeType.Audio)}),
    TaskType("core:audio2text:subtitles", "Generate subtitles",
             "Generate a subtitle file from an audio or video file",
             {"input": _s("Input file", "The audio or video file", ShapeType.File)},
             {"output": _s("Subtitle file", "The generated subtitles", ShapeType.File)}),
    TaskType("core:text2text:improve", "Improve text",
             "Improve a text following the given instructions",
             {"input": _s("Input text", "The text to improve", T),
              "instructions": _s("Instructions", "How the text should be improved", T)},
             {"output": _s("Generated response", "The improved text", T)}),
    TaskType("core:text2text:multimodal-chatwithtools", "Multimodal chat with tools",
             "Chat with the language model with tool calling and file attachments.",
             {"system_prompt": _SYSTEM_PROMPT,
              "input": _s("Chat message", "The message to send", T),
              "input_attachments": _ATTACH_IN, "tool_message": _TOOL_MESSAGE,
              "history": _CHAT_HISTORY, "tools": _TOOLS},
             {"output": _s("Generated response", "The response from the chat model", T),
              "output_attachments": _ATTACH_OUT, "tool_calls": _TOOL_CALLS}, is_internal=True),
    TaskType("core:contextagent:multimodal-interaction", "Context Agent multimodal",
             "Chat with an agent, with file attachments",
             {"input": _s("Chat message", "A chat message to send to the agent.", T),
              "input_attachments": _ATTACH_IN, "confirmation": _CONFIRMATION,
              "conversation_token": _CONV_TOKEN_IN,
              "memories": _s("Memories", "Facts the agent remembers", ShapeType.ListOfTexts)},
             {"output": _s("Generated response", "The response from the chat model.", T),
              "output_attachments": _ATTACH_OUT, "conversation_token": _CONV_TOKEN_OUT,
              "actions": _ACTIONS,
              "sources": _s("Sources", "Sources the agent used", ShapeType.ListOfTexts)},
             is_internal=True),
]}
