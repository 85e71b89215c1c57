"""Extractive summary, headline and topics: sumy TextRank + YAKE, or Debian's `ots`.

No language model is involved: the summary and the headline are sentences picked from the input
(TextRank), the topics are key phrases (YAKE). sumy's default tokenizer needs NLTK data that no
package ships, so sentences are split with pysbd and words with NLTK's Treebank tokenizer, which
need no data (docs/engines.md).

TextRank compares every pair of sentences, so one call over a long text is quadratic (4,000
sentences took 155 s). Long texts are ranked in blocks of `BLOCK` sentences; each block's best
sentences go on to the next round until one block remains, so the work grows linearly with the
text, and the thread checks for a cancel between blocks. Inputs over `summary_max_chars` are
refused with a clear message.
"""

from __future__ import annotations

import re
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any

from services.dispatcher.engines._common import provider_id, require, require_binary, text_input
from services.dispatcher.engines._threads import Report, Stopped, run_in_thread
from services.dispatcher.provider_interface import (
    Engine,
    ProviderContext,
    ProviderError,
    run_process,
)
from shared.provider_spec import ProviderSpec
from shared.settings_engines import EngineSettings

SUMMARY, HEADLINE, TOPICS = ("core:text2text:summary", "core:text2text:headline",
                             "core:text2text:topics")
BLOCK = 100
"""Sentences TextRank ranks together; longer texts are ranked block by block."""
PIECE = 2000
"""Characters pysbd segments at once: its abbreviation pass rescans the whole string for each
abbreviation it meets, so one call over a long paragraph is quadratic too."""
_CUT = re.compile(r"[.!?]\s+(?=\S)")


def pieces(text: str, size: int = PIECE) -> list[str]:
    """`text` in lines, and lines longer than `size` cut after a sentence end near the limit
    (else at a space; else hard), so pysbd sees short strings and rarely a cut sentence."""
    out: list[str] = []
    for line in text.splitlines():
        while len(line) > size:
            ends = [m.end() for m in _CUT.finditer(line, 0, size)]
            cut = ends[-1] if ends else (line.rfind(" ", 0, size) + 1 or size)
            out.append(line[:cut])
            line = line[cut:]
        if line.strip():
            out.append(line)
    return out


def _offline_tokenizer() -> Any:
    """A sumy Tokenizer that needs no NLTK downloads (pysbd sentences, Treebank words)."""
    pysbd = require("pysbd")
    treebank = require("nltk.tokenize", "nltk").TreebankWordTokenizer
    base = require("sumy.nlp.tokenizers", "sumy").Tokenizer

    class OfflineTokenizer(base):  # type: ignore[misc, valid-type]
        def __init__(self, language: str = "english") -> None:
            self._language = language
            self._seg = pysbd.Segmenter(language="en", clean=False)
            self._wt = treebank()

        def to_sentences(self, paragraph: str) -> tuple[str, ...]:
            return tuple(s.strip() for piece in pieces(paragraph)
                         for s in self._seg.segment(piece) if s.strip())

        def to_words(self, sentence: str) -> tuple[str, ...]:
            return tuple(w for w in self._wt.tokenize(sentence) if base._is_word(w))

    return OfflineTokenizer()


@dataclass
class _Sumy:
    """The loaded sumy pieces: tokenizer, parser class and a TextRank summarizer."""

    tokenizer: Any
    parser: Any
    summarizer: Any
    dom: Any

    @classmethod
    def load(cls) -> _Sumy:
        tokenizer = _offline_tokenizer()
        parser = require("sumy.parsers.plaintext", "sumy").PlaintextParser
        stemmer = require("sumy.nlp.stemmers", "sumy").Stemmer("english")
        summarizer = require("sumy.summarizers.text_rank", "sumy").TextRankSummarizer(stemmer)
        summarizer.stop_words = require("sumy.utils", "sumy").get_stop_words("english")
        return cls(tokenizer, parser, summarizer, require("sumy.models.dom", "sumy"))

    def top(self, text: str, count: int, stop: threading.Event | None = None,
            report: Report | None = None) -> list[str]:
        """The `count` best-ranked sentences, in document order."""
        sentences = list(self.parser.from_string(text, self.tokenizer).document.sentences)
        total = max(1, len(sentences))
        keep = max(count, BLOCK // 10)
        while len(sentences) > BLOCK:
            survivors = []
            for start in range(0, len(sentences), BLOCK):
                if stop is not None and stop.is_set():
                    raise Stopped()
                survivors.extend(self._best(sentences[start:start + BLOCK], keep))
                if report is not None:
                    report(min(0.9, (start + BLOCK) / total))
            sentences = survivors
        return [str(s) for s in self._best(sentences, count)]

    def _best(self, sentences: list[Any], count: int) -> list[Any]:
        document = self.dom.ObjectDocumentModel([self.dom.Paragraph(sentences)])
        return list(self.summarizer(document, count))


@dataclass
class _Extractive:
    """Picks `count` pieces of the input (sentences, key phrases); longer inputs than
    `max_chars` are refused."""

    spec: ProviderSpec
    count: int
    engine: Engine = field(default_factory=Engine)
    max_chars: int = 1_000_000


class SumyProvider(_Extractive):
    """Summary (top sentences) or headline (top sentence) with TextRank."""

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        text = bounded_text(inputs, self.max_chars)
        model: _Sumy = await self.engine.model(_Sumy.load)
        picked: list[str] = await run_in_thread(
            self.engine, ctx, lambda stop, report: model.top(text, self.count, stop, report))
        return {"output": " ".join(picked) if picked else text.strip()}


def bounded_text(inputs: dict[str, Any], max_chars: int) -> str:
    """The text input, refused past `max_chars` (the engines' work grows with it)."""
    text = text_input(inputs)
    if len(text) > max_chars:
        raise ProviderError(f"input of {len(text)} characters exceeds {max_chars}",
                            f"The text is too long: at most {max_chars} characters.")
    return text


def _yake_topics(extractor: Any, text: str, count: int) -> str:
    phrases = [kw for kw, _score in extractor.extract_keywords(text)]
    return ", ".join(phrases[:count])


class YakeProvider(_Extractive):
    """Topics as YAKE key phrases joined by ", "."""

    def _load(self) -> Any:
        yake = require("yake")
        return yake.KeywordExtractor(lan="en", n=3, top=self.count * 2, dedupLim=0.7)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        text = bounded_text(inputs, self.max_chars)
        extractor = await self.engine.model(self._load)
        topics: str = await self.engine.run(_yake_topics, extractor, text, self.count)
        return {"output": topics}


@dataclass
class OtsProvider:
    """Debian's Open Text Summarizer, run as a subprocess (summary, headline or topics)."""

    spec: ProviderSpec
    binary: str
    settings: EngineSettings

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        text = bounded_text(inputs, self.settings.summary_max_chars).encode()
        args = [self.binary, "-a"] if self.spec.task_type == TOPICS else [self.binary, "--ratio",
                                                                           self._ratio(text)]
        # From a file: Debian's ots 0.5.0 reading stdin segfaults in most runs (exit 139)
        with tempfile.NamedTemporaryFile(suffix=".txt") as source:
            source.write(text)
            source.flush()
            raw = await run_process([*args, source.name], stdin=b"",
                                    timeout=self.settings.process_timeout_seconds)
        out = raw.decode().strip()
        if self.spec.task_type == TOPICS:
            match = re.search(r'"([^"]*)"', out)
            if match is None:
                raise ProviderError(f"unexpected ots output {out[:200]!r}")
            return {"output": ", ".join(t for t in match.group(1).split(",") if t)}
        if self.spec.task_type == HEADLINE:
            out = out.split("\n")[0]
        return {"output": out or text.decode().strip()}

    def _ratio(self, text: bytes) -> str:
        return "1" if self.spec.task_type == HEADLINE else "25"


_NAMES = {SUMMARY: "Extractive summary", HEADLINE: "Extractive headline (top sentence)",
          TOPICS: "Key phrases"}


def _spec(task_type: str, engine: str) -> ProviderSpec:
    return ProviderSpec(id=provider_id(task_type, engine), name=f"{_NAMES[task_type]} ({engine})",
                        task_type=task_type, expected_runtime=5)


def sumy_summary(settings: EngineSettings) -> SumyProvider:
    _Sumy.load()  # raises ProviderUnavailable when sumy/pysbd/nltk are missing
    return SumyProvider(_spec(SUMMARY, "sumy"), settings.summary_sentences,
                        Engine(settings.concurrency), settings.summary_max_chars)


def sumy_headline(settings: EngineSettings) -> SumyProvider:
    _Sumy.load()
    return SumyProvider(_spec(HEADLINE, "sumy"), 1, Engine(settings.concurrency),
                        settings.summary_max_chars)


def yake_topics(settings: EngineSettings) -> YakeProvider:
    require("yake")
    return YakeProvider(_spec(TOPICS, "yake"), settings.topics_count, Engine(settings.concurrency),
                        settings.summary_max_chars)


def ots_summary(settings: EngineSettings) -> OtsProvider:
    return OtsProvider(_spec(SUMMARY, "ots"), require_binary("ots"), settings)


def ots_headline(settings: EngineSettings) -> OtsProvider:
    return OtsProvider(_spec(HEADLINE, "ots"), require_binary("ots"), settings)


def ots_topics(settings: EngineSettings) -> OtsProvider:
    return OtsProvider(_spec(TOPICS, "ots"), require_binary("ots"), settings)
