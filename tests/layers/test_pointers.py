"""No dangling pointers: every repository path that a docstring, a comment or a Markdown file
names exists, and so does the target of every relative Markdown link (its heading too).

A path is a token under one of the repository's top folders (`shared/http/ocs.py`,
`services/dispatcher/engines/`, `tests/support/{ocs,waits}.py` for each name in the braces)
that ends in a file name with a known extension, or in `/` for a folder. A shorter path that
starts with the name of one of the repository's folders (`engines/local.py`) must exist beside
the file that names it, or be written from the repository root. Paths that start with `../`
point outside the repository (the team's shared folder beside the checkout) and are not
checked; nor is pyproject.toml, whose comments name files other sessions write.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOPS = ("services", "shared", "tests", "bench", "deploy", "docs", "scripts", "requirements")
SKIP = {".venv", ".tools", "var", "__pycache__"}
EXTENSIONS = {".py", ".md", ".lua", ".yaml", ".yml", ".toml", ".json", ".txt", ".sh", ".cfg",
              ".ini", ".conf", ".tpl", ".html", ".js", ".in", ".lock", ".j2"}
_PART = r"(?:[\w.-]|\{[\w.,/-]+\})"
PATH = re.compile(rf"(?<![\w./-])(\.\./)*(?:{'|'.join(TOPS)})/(?:{_PART}+/?)*")
SHORT = re.compile(r"(?<![\w./:$-])(?:[\w-]+/)+[\w.-]+\.\w+")
"""A relative path of a file with at least one folder (checked when it starts with a folder of
ours)."""
LINK = re.compile(r"\]\(([^)\s]+)\)")
EXAMPLES = {("tests/layers/test_pointers.py", "engines/local.py")}
"""(file, path) where a path is named only as an example: the shortened path in this module's
docstring."""


def _expand(token: str) -> list[str]:
    """`a/{b,c}.py` -> `a/b.py`, `a/c.py` (nested braces too)."""
    m = re.search(r"\{([^{}]*)\}", token)
    if m is None:
        return [token]
    return [out for alt in m.group(1).split(",")
            for out in _expand(token[:m.start()] + alt + token[m.end():])]


def _names_a_path(path: str) -> bool:
    return path.endswith("/") or Path(path).suffix in EXTENSIONS


def _docstrings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Module, class and function docstrings, and the string under an assignment (an attribute
    docstring)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                          | ast.AsyncFunctionDef):
            continue
        for i, stmt in enumerate(node.body):
            if (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                    and isinstance(stmt.value.value, str)
                    and (i == 0 or isinstance(node.body[i - 1], ast.Assign | ast.AnnAssign))):
                yield stmt.lineno, stmt.value.value


def _python_prose(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every comment and docstring of a Python module."""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            yield tok.start[0], tok.string
    yield from _docstrings(ast.parse(source))


def _files(root: Path) -> Iterator[Path]:
    yield from root.glob("*.md")
    for top in TOPS:
        for path in sorted((root / top).rglob("*")):
            if path.suffix in (".py", ".md") and not SKIP & set(path.relative_to(root).parts):
                yield path


def _prose(path: Path) -> Iterator[tuple[int, str]]:
    text = path.read_text()
    if path.suffix == ".py":
        yield from _python_prose(text)
    else:
        yield from enumerate(text.splitlines(), 1)


def _anchors(markdown: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file."""
    heads = (line.lstrip("#").strip() for line in markdown.read_text().splitlines()
             if line.startswith("#"))
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in heads}


def _dangling_link(source: Path, target: str) -> bool:
    file, _, anchor = target.partition("#")
    path = (source.parent / file).resolve() if file else source
    if not path.exists():
        return True
    return bool(anchor) and path.suffix == ".md" and anchor not in _anchors(path)


def _missing_paths(text: str, root: Path) -> Iterator[str]:
    for m in PATH.finditer(text):
        if m.group(1):  # ../: outside the repository
            continue
        for path in _expand(m.group(0).rstrip(".")):
            if _names_a_path(path) and not (root / path).exists():
                yield path


def _loose_paths(text: str, source: Path, folders: set[str]) -> Iterator[str]:
    """Shortened paths that start with one of our folder names and are not beside `source`."""
    for m in SHORT.finditer(text):
        path = m.group(0)
        first = path.split("/")[0]
        if first in folders and first not in TOPS and not (source.parent / path).exists():
            yield f"{path} (write it from the repository root)"


def _missing_links(text: str, source: Path) -> Iterator[str]:
    for target in LINK.findall(text):
        if ("://" not in target and not target.startswith("mailto:")
                and _dangling_link(source, target)):
            yield f"link {target}"


def dangling(root: Path = ROOT) -> list[str]:
    """`file:line: path` for every path named in prose that does not exist."""
    files = list(_files(root))
    folders = {p.name for top in TOPS for p in (root / top).rglob("*")
               if p.is_dir() and not SKIP & set(p.relative_to(root).parts)}
    out = []
    for source in files:
        rel = source.relative_to(root)
        for line, text in _prose(source):
            found = [*_missing_paths(text, root), *_loose_paths(text, source, folders)]
            if source.suffix == ".md":
                found += _missing_links(text, source)
            out += [f"{rel}:{line}: {what}" for what in found
                    if (str(rel), what.split(" ")[0]) not in EXAMPLES]
    return sorted(out)


def test_every_path_named_in_prose_exists() -> None:
    assert dangling() == []


def test_the_finder_sees_paths_in_comments_docstrings_and_links(tmp_path: Path) -> None:
    for rel, text in {
            "README.md": "See [ops](docs/ops.md#gone) and `shared/{a,b}.py`.\n",
            "docs/ops.md": "# Ops\n[back](../README.md) [self](#ops) ../shared/x.md\n",
            "shared/a.py": '"""Uses services/nope/ and shared/lua/."""\n# see tests/gone.py.\n',
            "shared/lua/x.lua": "", "shared/lua/y.py": "# lua/x.lua is not beside me\n",
            "services/cli.py": "# services/cli, deploy/x, lua/x.lua, src/app.js\n"}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert dangling(tmp_path) == [
        "README.md:1: link docs/ops.md#gone", "README.md:1: shared/b.py",
        "services/cli.py:1: lua/x.lua (write it from the repository root)",
        "shared/a.py:1: services/nope/", "shared/a.py:2: tests/gone.py",
        "shared/lua/y.py:1: lua/x.lua (write it from the repository root)"]
