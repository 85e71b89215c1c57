"""OCR with the tesseract CLI: one text per input file, languages from the installed traineddata."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any

from services.dispatcher.engines._common import enum_option, require_binary
from services.dispatcher.provider_interface import (
    ProviderContext,
    ProviderError,
    ProviderUnavailable,
    run_process,
)
from shared.provider_spec import ProviderSpec
from shared.settings_engines import EngineSettings

TASK_TYPE = "core:image2text:ocr"


def installed_languages(binary: str) -> list[str]:
    """`tesseract --list-langs` without the orientation-detection pseudo language."""
    out = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=30,
                         check=False).stdout
    return [line.strip() for line in out.splitlines()[1:]
            if line.strip() and line.strip() != "osd"]


@dataclass
class TesseractProvider:
    """Runs `tesseract FILE - -l LANG` per input file (killed on cancel)."""

    spec: ProviderSpec
    binary: str
    timeout: float

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        files = inputs.get("input")
        if not isinstance(files, list) or not files:
            raise ProviderError("input 'input' is not a list of file ids",
                                "Give at least one file to read.")
        language = str(inputs.get("language")
                       or self.spec.optional_input_shape_defaults["language"])
        installed = {v["value"] for v in self.spec.optional_input_shape_enum_values["language"]}
        if language not in installed:
            raise ProviderError(f"language {language!r} not installed",
                                f"OCR language {language!r} is not installed.")
        texts: list[str] = []
        for done, file_id in enumerate(files, start=1):
            path = await ctx.read_file(int(file_id))
            out = await run_process([self.binary, str(path), "-", "-l", language],
                                    timeout=self.timeout)
            texts.append(out.decode(errors="replace").strip())
            await ctx.progress(done / len(files))
        return {"output": texts}


def tesseract(settings: EngineSettings) -> TesseractProvider:
    binary = require_binary("tesseract", "tesseract-ocr tesseract-ocr-eng")
    languages = installed_languages(binary)
    if not languages:
        raise ProviderUnavailable("tesseract has no language data "
                                  "(apt-get install tesseract-ocr-eng)")
    default = "eng" if "eng" in languages else languages[0]
    spec = ProviderSpec(
        id="taskproc:ocr:tesseract", name="Tesseract OCR", task_type=TASK_TYPE,
        expected_runtime=10,
        optional_input_shape=enum_option("language", "The language of the text in the files"),
        optional_input_shape_enum_values={"language": [{"name": lang, "value": lang}
                                                       for lang in languages]},
        optional_input_shape_defaults={"language": default})
    return TesseractProvider(spec, binary, settings.process_timeout_seconds)
