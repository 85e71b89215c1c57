"""Static checks of deploy/Dockerfile and .dockerignore (no Docker engine on CI)."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib

from tests.support.deploy import DEPLOY, ROOT

DOCKERFILE = DEPLOY / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for op, rest in instructions():
        if op == "FROM":
            result.append([])
        if result:
            result[-1].append((op, rest))
    return result


def test_multi_stage_with_a_python_311_slim_runtime() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2
    args = dict(a.split("=", 1) for op, a in instructions() if op == "ARG" and "=" in a)
    base = all_stages[-1][0][1].split()[0]
    base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
    assert base.startswith("python:3.11-slim")
    assert any(op == "COPY" and rest.startswith("--from=builder") for op, rest in all_stages[-1])


def test_runtime_runs_as_a_non_root_user() -> None:
    users = [rest for op, rest in stages()[-1] if op == "USER"]
    assert users, "the runtime stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in ("0", "root")


def test_entrypoint_is_taskproc_and_the_script_exists() -> None:
    entry = [rest for op, rest in stages()[-1] if op == "ENTRYPOINT"]
    assert entry and json.loads(entry[-1]) == ["taskproc"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "taskproc" in pyproject["project"]["scripts"]


def copy_sources() -> list[str]:
    sources = []
    for op, rest in instructions():
        if op == "COPY" and not rest.startswith("--from"):
            parts = [p for p in rest.split() if not p.startswith("--")]
            sources += parts[:-1]
    return sources


def test_copy_sources_exist_in_the_build_context() -> None:
    for src in copy_sources():
        if "*" in src:
            continue  # optional by design (README.md*)
        assert (ROOT / src).exists(), f"COPY source {src} is missing from the repository"


def test_dockerignore_keeps_every_copy_source() -> None:
    """The context is the repository root; a COPY source excluded there would fail the build."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        result = False
        for rule in rules:
            negate = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                result = not negate
        return result

    for src in copy_sources():
        assert not ignored(src.rstrip("*")), src
    for package in ("shared", "services"):
        assert (ROOT / package / "__init__.py").exists()


def test_no_syntax_directive_that_would_pull_a_frontend() -> None:
    """`# syntax=` makes BuildKit fetch a frontend image from Docker Hub; builds must work with
    package registries only."""
    first = DOCKERFILE.read_text().lstrip().splitlines()[0]
    assert not re.match(r"#\s*syntax\s*=", first, re.I)
    assert not re.search(r"^#\s*syntax\s*=", DOCKERFILE.read_text(), re.M | re.I)


def _pip_installs() -> list[str]:
    return [line.strip() for line in re.sub(r"\\\n", " ", DOCKERFILE.read_text()).split(";")
            if "pip install" in line]


def test_every_package_comes_from_a_hashed_lock() -> None:
    """The image installs the locks with --require-hashes and the project with --no-deps, so
    nothing is resolved at build time."""
    installs = " ".join(_pip_installs())
    for lock in ("requirements/lock.txt", "requirements/lock-engines.txt",
                 "requirements/engine-models.txt"):
        assert f"--require-hashes --no-deps -r {lock}" in installs, lock
    for cmd in re.findall(r"pip install [^;&]*", installs):
        assert "--require-hashes" in cmd or "--no-deps /src" in cmd, cmd
    assert "pip check" in DOCKERFILE.read_text()


def test_engines_image_installs_the_debian_engine_list() -> None:
    """Exactly what `make engines-debian` installs: the list file, not a copy of it."""
    text = DOCKERFILE.read_text()
    assert "COPY requirements/debian-engines.txt" in text
    assert re.search(r"grep -v '\^#' /tmp/debian-engines.txt \| xargs apt-get install", text)
    assert "rm -rf /var/lib/apt/lists/*" in text
    assert re.search(r"^ARG EXTRAS=", text, re.M)
