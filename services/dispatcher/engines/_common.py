"""Helpers shared by the local engine providers: availability, inputs and provider ids.

`require` turns a missing Python package, `require_binary` a missing binary and `require_listed`
a binary without its data into `ProviderUnavailable` with a reason the dispatcher logs at
start-up. In-thread engines that can be stopped use `_threads`.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
from collections.abc import Callable, Sized
from types import ModuleType
from typing import Any, TypeVar

from services.dispatcher.provider_interface import ProviderError, ProviderUnavailable
from shared.shapes import Shape, ShapeMap, ShapeType

Found = TypeVar("Found", bound=Sized)


def require(module: str, package: str | None = None) -> ModuleType:
    """Import `module` or raise ProviderUnavailable naming the pip package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ProviderUnavailable(f"{package or module} not installed") from exc


def require_binary(name: str, package: str | None = None) -> str:
    """The full path of a binary on PATH, or ProviderUnavailable naming the Debian package."""
    path = shutil.which(name)
    if path is None:
        raise ProviderUnavailable(f"{name} not found on PATH (apt-get install {package or name})")
    return path


def require_listed(name: str, listing: Callable[[str], Found], data: str,
                   packages: str) -> tuple[str, Found]:
    """A Debian CLI engine's path and what `listing(path)` finds installed, or ProviderUnavailable.

    `packages` names the engine's Debian package, then the data package it needs at least one of;
    `data` says what the listing finds ("language data").
    """
    binary = require_binary(name, packages)
    found = listing(binary)
    if not found:
        raise ProviderUnavailable(f"{name} has no {data} (apt-get install {packages.split()[-1]})")
    return binary, found


def cli_lines(binary: str, flag: str) -> list[str]:
    """The stripped, non-empty lines that `binary flag` prints (a listing: `apertium -l`)."""
    out = subprocess.run([binary, flag], capture_output=True, text=True, timeout=30,
                         check=False).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def provider_id(task_type: str, engine: str) -> str:
    """`taskproc:<kind>:<engine>`, the kind being the task type's last part (`summary`, `ocr`)."""
    return f"taskproc:{task_type.rsplit(':', 1)[-1]}:{engine}"


def text_input(inputs: dict[str, Any], slot: str = "input") -> str:
    """A text input slot, checked to be a non-empty string."""
    value = inputs.get(slot)
    if not isinstance(value, str) or not value.strip():
        raise ProviderError(f"input {slot!r} is empty", f"The input {slot!r} must not be empty.")
    return value


def enum_option(name: str, description: str) -> ShapeMap:
    """An optional Enum input slot map with one slot."""
    return {name: Shape(name.replace("_", " ").capitalize(), description, ShapeType.Enum)}
