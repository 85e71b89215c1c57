"""What the deploy tests share: the paths of the chart and compose files, the pinned tools in
.tools/ (`make deploy-tools`), rendering with them, and the routing table both routers must
follow. The fixtures that skip without the tools are in tests/deploy/conftest.py.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.support.required import unavailable

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


def require_tool(path: Path) -> Path:
    """`path` if the tool is installed; otherwise skip (fail under CI)."""
    if path.exists():
        return path
    unavailable(f"{path.relative_to(ROOT)} is missing; run `make deploy-tools`")


def run(args: list[str], env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env, check=False)


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
    return run([str(helm), "template", RELEASE, str(CHART), "--kube-version", KUBE_VERSION, *args])


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
    return run([*args, "config", "--format", "json"], env=compose_env() if env is None else env)


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
