"""Code health gates of issue 10, run with the tests (and by `make lint`): no function of
services/ or shared/ ranks below B in radon's cyclomatic complexity, and vulture (configured in
pyproject.toml `[tool.vulture]`) finds no dead code there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from radon.complexity import cc_rank, cc_visit

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "shared")


def test_no_function_ranks_below_b() -> None:
    worse = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for block in cc_visit(path.read_text()):
                if cc_rank(block.complexity) not in ("A", "B"):
                    worse.append(f"{path.relative_to(ROOT)}:{block.lineno} {block.name} "
                                 f"{cc_rank(block.complexity)} ({block.complexity})")
    assert worse == [], "split these into smaller functions:\n" + "\n".join(worse)


def test_vulture_finds_no_dead_code() -> None:
    found = subprocess.run([sys.executable, "-m", "vulture"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert found.returncode == 0, found.stdout + found.stderr
