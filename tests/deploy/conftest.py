"""Fixtures that render the Helm chart and the compose files with the pinned tools in .tools/.

`make deploy-tools` installs the tools. Without them these tests skip locally, but fail when
the CI environment variable is set, so CI can never pass by skipping (dramatiq's pattern).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "taskproc"
COMPOSE_DIR = DEPLOY / "compose"
TOOLS = ROOT / ".tools"
HELM = TOOLS / "bin" / "helm"
COMPOSE = TOOLS / "bin" / "docker-compose"
KUBERNETES_VALIDATE = TOOLS / "venv" / "bin" / "kubernetes-validate"
KUBE_VERSION = "1.32.0"
RELEASE = "ci"

# Stand-ins for the variables compose.yaml requires; never used for a real deployment.
COMPOSE_ENV = {"TASKPROC_IMAGE": "taskproc:ci", "REDIS_PASSWORD": "ci-only-password"}

Manifest = dict[str, Any]


def _require_tool(path: Path) -> Path:
    if path.exists():
        return path
    reason = f"{path.relative_to(ROOT)} is missing; run `make deploy-tools`"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)


def _run(args: list[str], env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env, check=False)


@pytest.fixture(scope="session")
def helm() -> Path:
    return _require_tool(HELM)


@pytest.fixture(scope="session")
def kubernetes_validate() -> Path:
    return _require_tool(KUBERNETES_VALIDATE)


@pytest.fixture(scope="session")
def compose_bin() -> Path:
    return _require_tool(COMPOSE)


class Rendered:
    """The objects of one `helm template` run, with lookups by kind and name."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.objects: list[Manifest] = [d for d in yaml.safe_load_all(text) if d]

    def of_kind(self, kind: str) -> list[Manifest]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> Manifest:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
        return found[0]

    def deployment(self, role: str) -> Manifest:
        return self.get("Deployment", f"{RELEASE}-taskproc-{role}")


def helm_template(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`helm template ci CHART --kube-version ... ARGS`, not raising on failure."""
    return _run([str(helm), "template", RELEASE, str(CHART), "--kube-version", KUBE_VERSION, *args])


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


def compose_env(**changes: str | None) -> dict[str, str]:
    """The process environment with the compose stand-ins, minus any .env influence."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TASKPROC_", "REDIS_", "COMPOSE_"))
    }
    env.update(COMPOSE_ENV)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def compose_config(
    compose_bin: Path,
    *files: str,
    env: Mapping[str, str] | None = None,
    env_file: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`docker-compose [--env-file] -f FILE... config --format json` in deploy/compose."""
    args = [str(compose_bin), "--project-directory", str(COMPOSE_DIR)]
    # An empty env file so a developer's deploy/compose/.env cannot change the result.
    args += ["--env-file", str(COMPOSE_DIR / env_file) if env_file else os.devnull]
    for f in files:
        args += ["-f", str(COMPOSE_DIR / f)]
    return _run([*args, "config", "--format", "json"], env=compose_env() if env is None else env)


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


# Request paths and where the router (nginx in compose, the Ingress in Kubernetes) must send
# them. Query strings are not part of the match.
ROUTE_CASES: list[tuple[str, str]] = [
    ("/ocs/v2.php/taskprocessing/tasks/12/file/34", "fileproxy"),
    ("/ocs/v1.php/taskprocessing/tasks/12/file/34", "fileproxy"),
    ("/ocs/v2.php/taskprocessing/task/12/file/34", "fileproxy"),
    ("/ocs/v2.php/taskprocessing/tasks_provider/12/file", "fileproxy"),
    ("/ocs/v2.php/taskprocessing/tasks_provider/12/file/34", "fileproxy"),
    ("/ocs/v2.php/taskprocessing/files", "fileproxy"),
    ("/ocs/v1.php/taskprocessing/files", "fileproxy"),
    ("/ocs/v2.php/taskprocessing/schedule", "api"),
    ("/ocs/v2.php/taskprocessing/tasks/12", "api"),
    ("/ocs/v2.php/taskprocessing/task/12", "api"),
    ("/ocs/v2.php/taskprocessing/tasks/12/file", "api"),
    ("/ocs/v2.php/taskprocessing/tasks/app/files", "api"),
    ("/ocs/v2.php/taskprocessing/tasks_provider/next", "api"),
    ("/ocs/v2.php/taskprocessing/tasks_provider/12/result", "api"),
    ("/ocs/v2.php/taskprocessing/tasks_provider/12/progress", "api"),
    ("/ocs/v2.php/taskprocessing/tasktypes", "api"),
    ("/ocs/v2.php/taskprocessing/files/12", "api"),
    ("/ocs/v3.php/taskprocessing/files", "api"),
    ("/healthz", "api"),
]


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
