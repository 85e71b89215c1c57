"""Fixtures that render the Helm chart and the compose files with the pinned tools in .tools/.

`make deploy-tools` installs the tools. Without them these tests skip locally, but fail when
the CI environment variable is set, so CI can never pass by skipping (`tests.support.required`).
What the fixtures build on is in `tests.support.deploy`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.deploy import (
    CHART,
    COMPOSE,
    HELM,
    KUBERNETES_VALIDATE,
    ROUTE_CASES,
    Rendered,
    compose_config,
    compose_env,
    helm_template,
    require_tool,
)


@pytest.fixture(scope="session")
def helm() -> Path:
    return require_tool(HELM)


@pytest.fixture(scope="session")
def kubernetes_validate() -> Path:
    return require_tool(KUBERNETES_VALIDATE)


@pytest.fixture(scope="session")
def compose_bin() -> Path:
    return require_tool(COMPOSE)


@pytest.fixture(scope="session")
def render_chart(helm: Path) -> Callable[..., Rendered]:
    """Render with CI values files (names under ci/) and --set pairs; cached per session."""
    cache: dict[tuple[str, ...], Rendered] = {}

    def render(*values: str, sets: tuple[str, ...] = ()) -> Rendered:
        key = (*values, "--set", *sets)
        if key not in cache:
            args = [a for v in values for a in ("-f", str(CHART / "ci" / f"{v}-values.yaml"))]
            args += [a for s in sets for a in ("--set", s)]
            proc = helm_template(helm, *args)
            assert proc.returncode == 0, proc.stderr
            cache[key] = Rendered(proc.stdout)
        return cache[key]

    return render


@pytest.fixture(scope="session")
def compose_model(compose_bin: Path) -> Iterator[Callable[..., dict[str, Any]]]:
    cache: dict[tuple[str, ...], dict[str, Any]] = {}

    def model(*files: str, env_file: str | None = None) -> dict[str, Any]:
        key = (*files, str(env_file))
        if key not in cache:
            proc = compose_config(compose_bin, *files, env_file=env_file)
            assert proc.returncode == 0, proc.stderr
            cache[key] = json.loads(proc.stdout)
        return cache[key]

    yield model


@pytest.fixture(scope="session")
def route_cases() -> list[tuple[str, str]]:
    return ROUTE_CASES


@pytest.fixture(scope="session")
def helm_run(helm: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `helm template` with raw arguments, for the cases that must fail."""
    return lambda *args: helm_template(helm, *args)


@pytest.fixture(scope="session")
def compose_run(compose_bin: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `config --format json` with raw files and environment changes (None unsets)."""

    def run(
        *files: str, env_file: str | None = None, **env: str | None
    ) -> subprocess.CompletedProcess[str]:
        return compose_config(compose_bin, *files, env=compose_env(**env), env_file=env_file)

    return run
