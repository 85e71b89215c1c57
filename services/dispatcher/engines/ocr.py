"""OCR: RapidOCR (PP-OCRv6 ONNX models inside its wheel) or the tesseract CLI.

Both return one text per input file. RapidOCR reads many scripts with one model (no language
option) and runs in a thread that stops between files on cancel; tesseract offers the languages
of the installed traineddata and is killed on cancel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from services.dispatcher.engines._common import cli_lines, enum_option, require, require_listed
from services.dispatcher.engines._threads import map_steps, run_in_thread
from services.dispatcher.engines.models import packaged_file
from services.dispatcher.provider_interface import (
    Engine,
    ProviderContext,
    ProviderError,
    run_process,
)
from shared.provider_spec import ProviderSpec
from shared.settings_engines import EngineSettings

TASK_TYPE = "core:image2text:ocr"


def installed_languages(binary: str) -> list[str]:
    """`tesseract --list-langs` without its heading and the orientation-detection language."""
    return [lang for lang in cli_lines(binary, "--list-langs")[1:] if lang != "osd"]


def _file_ids(inputs: dict[str, Any]) -> list[int]:
    files = inputs.get("input")
    if not isinstance(files, list) or not files or not all(
            (isinstance(f, int) and not isinstance(f, bool)) or (isinstance(f, str) and f.isdigit())
            for f in files):
        raise ProviderError("input 'input' is not a list of file ids",
                            "Give at least one file to read.")
    return [int(f) for f in files]


_RAPID_MODELS = {"Det": "PP-OCRv6_det_small.onnx", "Rec": "PP-OCRv6_rec_small.onnx",
                 "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx"}


_Line = list[tuple[float, str]]
"""The (left edge, text) of each box on one line."""


def _lines(result: Any) -> str:
    """Text boxes as lines: boxes whose vertical centres overlap form one line, left to right."""
    if not result.txts:
        return ""
    boxes = sorted(_extent(box, text) for box, text in zip(result.boxes, result.txts, strict=True))
    return "\n".join(" ".join(text for _, text in sorted(line)) for line in _group(boxes))


def _extent(box: Any, text: str) -> tuple[float, float, float, str]:
    """(top, bottom, left, text) of a text box given by its corner points."""
    ys = [point[1] for point in box]
    return min(ys), max(ys), min(point[0] for point in box), text


def _group(boxes: list[tuple[float, float, float, str]]) -> list[_Line]:
    """Boxes sorted top down, grouped: a box whose centre is above a line's bottom joins it."""
    lines: list[_Line] = []
    bottom = float("-inf")
    for top, low, left, text in boxes:
        if lines and (top + low) / 2 < bottom:
            lines[-1].append((left, text))
            bottom = max(bottom, low)
        else:
            lines.append([(left, text)])
            bottom = low
    return lines


def _read_image(engine: Any, path: Path) -> str:
    """RapidOCR's text of one image, as lines."""
    try:
        result = engine(str(path))
    except Exception as exc:  # an unreadable image is the user's input, not our failure
        raise ProviderError(f"rapidocr failed on {path.name}: {exc!r}",
                            "A file could not be read as an image.") from exc
    return _lines(result)


@dataclass
class RapidOCRProvider:
    """RapidOCR with the models of its wheel, loaded once per process."""

    spec: ProviderSpec
    settings: EngineSettings
    engine: Engine = field(default_factory=Engine)

    def _load(self) -> Any:
        rapid = require("rapidocr")
        params: dict[str, Any] = {
            f"{stage}.model_path": str(packaged_file("rapidocr", f"rapidocr/models/{name}"))
            for stage, name in _RAPID_MODELS.items()}  # explicit paths: never a download
        params.update({"Global.log_level": "error",
                       # scale only pages larger than 2000 px down; never blow a strip up
                       "Det.limit_type": "max", "Det.limit_side_len": 2000,
                       "EngineConfig.onnxruntime.intra_op_num_threads": self.settings.threads,
                       "EngineConfig.onnxruntime.inter_op_num_threads": 1})
        return rapid.RapidOCR(params=params)

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        paths = [await ctx.read_file(file_id) for file_id in _file_ids(inputs)]
        engine = await self.engine.model(self._load)
        read = partial(_read_image, engine)
        texts = await run_in_thread(self.engine, ctx,
                                    lambda stop, report: map_steps(read, paths, stop, report))
        return {"output": texts}


def rapidocr(settings: EngineSettings) -> RapidOCRProvider:
    require("rapidocr")
    for name in _RAPID_MODELS.values():
        packaged_file("rapidocr", f"rapidocr/models/{name}")
    spec = ProviderSpec(id="taskproc:ocr:rapidocr", name="RapidOCR (PP-OCRv6)",
                        task_type=TASK_TYPE, expected_runtime=10)
    return RapidOCRProvider(spec, settings, Engine(settings.concurrency))


@dataclass
class TesseractProvider:
    """Runs `tesseract FILE - -l LANG` per input file (killed on cancel)."""

    spec: ProviderSpec
    binary: str
    timeout: float

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        files = _file_ids(inputs)
        language = str(inputs.get("language")
                       or self.spec.optional_input_shape_defaults["language"])
        installed = {v["value"] for v in self.spec.optional_input_shape_enum_values["language"]}
        if language not in installed:
            raise ProviderError(f"language {language!r} not installed",
                                f"OCR language {language!r} is not installed.")
        texts: list[str] = []
        for done, file_id in enumerate(files, start=1):
            path = await ctx.read_file(file_id)
            out = await run_process([self.binary, str(path), "-", "-l", language],
                                    timeout=self.timeout)
            texts.append(out.decode(errors="replace").strip())
            await ctx.progress(done / len(files))
        return {"output": texts}


def tesseract(settings: EngineSettings) -> TesseractProvider:
    binary, languages = require_listed("tesseract", installed_languages, "language data",
                                       "tesseract-ocr tesseract-ocr-eng")
    default = "eng" if "eng" in languages else languages[0]
    spec = ProviderSpec(
        id="taskproc:ocr:tesseract", name="Tesseract OCR", task_type=TASK_TYPE,
        expected_runtime=10,
        optional_input_shape=enum_option("language", "The language of the text in the files"),
        optional_input_shape_enum_values={"language": [{"name": lang, "value": lang}
                                                       for lang in languages]},
        optional_input_shape_defaults={"language": default})
    return TesseractProvider(spec, binary, settings.process_timeout_seconds)
