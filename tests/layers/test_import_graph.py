"""The layers hold: roles meet only in Redis (docs/architecture.md; ../shared/STYLE.md habit 13).

Static rules read every `import` in services/ and shared/ (also those under `TYPE_CHECKING` and
inside functions); the runtime rules import a role's entry module in a fresh interpreter and
look at what got loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("services.api", "services.fileproxy", "services.dispatcher", "services.bridge")
HTTP_LAYER = ("shared.http",)
"""The only shared modules that may use aiohttp's server side."""
AIOHTTP_SERVER = "aiohttp.web*"
"""aiohttp's server side: `aiohttp.web` and its `aiohttp.web_*` modules (the client is not)."""


def _module(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Our module -> the modules (ours or third-party) it imports."""
    graph: dict[str, set[str]] = {}
    for top in ("services", "shared"):
        for path in sorted((root / top).rglob("*.py")):
            mod = _module(path, root)
            graph[mod] = set(_imports(path, mod))
    ours = set(graph)
    return {m: {i for i in deps if i in ours or not i.startswith(("services", "shared"))}
            for m, deps in graph.items()}


def _within(mod: str, prefixes: tuple[str, ...] | str) -> bool:
    """`mod` is one of `prefixes` or inside one; a prefix with `*` is a glob on the name."""
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(fnmatch(mod, p) if "*" in p else mod == p or mod.startswith(p + ".")
               for p in prefixes)


def _rule_violations(graph: dict[str, set[str]]) -> Iterator[str]:
    for mod, deps in graph.items():
        for dep in deps:
            if _within(mod, "shared") and _within(dep, "services"):
                yield f"shared imports a role: {mod} -> {dep}"
            role = next((r for r in ROLES if _within(mod, r)), None)
            if role and _within(dep, "services") and not _within(dep, role):
                yield f"a role imports outside itself: {mod} -> {dep}"
            if (_within(mod, "shared") and not _within(mod, HTTP_LAYER)
                    and _within(dep, AIOHTTP_SERVER)):
                yield f"aiohttp server code outside the HTTP layer: {mod} -> {dep}"


def _cycles(graph: dict[str, set[str]]) -> Iterator[str]:
    """Every module that can reach itself again through our own imports."""
    for start in graph:
        seen: set[str] = set()
        todo = [d for d in graph[start] if d in graph]
        while todo:
            mod = todo.pop()
            if mod == start:
                yield f"import cycle through {start}"
                break
            if mod not in seen:
                seen.add(mod)
                todo.extend(d for d in graph[mod] if d in graph)


def violations(root: Path = ROOT) -> list[str]:
    graph = import_graph(root)
    return sorted(set(_rule_violations(graph)) | set(_cycles(graph)))


def test_the_import_graph_keeps_the_layers() -> None:
    graph = import_graph()
    assert "services.dispatcher.dispatcher" in graph and "shared.store" in graph
    assert violations() == []


def test_a_cycle_and_a_role_import_are_found(tmp_path: Path) -> None:
    """The walker itself: a planted violation of each kind is reported."""
    for rel, text in {"shared/__init__.py": "", "shared/a.py": "from shared import b\n",
                      "shared/b.py": "from . import a\nimport aiohttp.web\n",
                      "services/__init__.py": "", "services/api/__init__.py": "",
                      "services/fileproxy/__init__.py": "",
                      "services/fileproxy/app.py": "from services.api import x\n",
                      "services/api/x.py": ""}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert violations(tmp_path) == [
        "a role imports outside itself: services.fileproxy.app -> services.api",
        "a role imports outside itself: services.fileproxy.app -> services.api.x",
        "aiohttp server code outside the HTTP layer: shared.b -> aiohttp.web",
        "import cycle through shared.a", "import cycle through shared.b"]


def _loaded(entry: str) -> list[str]:
    code = f"import sys, {entry}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return out.split()


DISPATCHER_NEVER = ("services.api", "services.fileproxy", "shared.http", "limits",
                    AIOHTTP_SERVER)
"""The dispatcher serves its probes from the standard library (services/dispatcher/health.py)."""


@pytest.mark.parametrize(("entry", "forbidden"), [
    ("services.dispatcher.main", DISPATCHER_NEVER),
    ("services.dispatcher.engines", DISPATCHER_NEVER),
    # `taskproc dispatcher` starts here: the CLI loads each role's code only for that role
    ("services.cli", DISPATCHER_NEVER),
    ("services.fileproxy.app", ("services.api", "services.dispatcher", "arq")),
    ("services.api.app", ("services.fileproxy", "services.dispatcher", "arq")),
    ("services.bridge.main", ("services.api", "services.fileproxy", "services.dispatcher",
                              "shared.http", "limits", "arq")),
])
def test_a_role_loads_no_other_role(entry: str, forbidden: tuple[str, ...]) -> None:
    loaded = _loaded(entry)
    assert entry in loaded
    assert [m for m in loaded if _within(m, forbidden)] == []
