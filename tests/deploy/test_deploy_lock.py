"""The lock files in requirements/ pin the whole tree with hashes and stay in step with what
they were resolved from (pyproject.toml, requirements/engines.txt); `make lock` rewrites them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.support.deploy import ROOT

REQ = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")
HINT = "run `make lock` (deploy/tools.mk) and commit requirements/lock*.txt"


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def locked(path: Path) -> dict[str, set[str]]:
    """name -> pinned versions (a universal lock may pin two, split by markers); every entry
    must carry at least one hash."""
    pins: dict[str, set[str]] = {}
    entries = re.split(r"\n(?=[A-Za-z0-9])", path.read_text())
    for entry in entries:
        m = PIN.match(entry)
        if m is None:
            continue
        assert "--hash=sha256:" in entry, f"{path.name}: {m.group(1)} has no hash"
        pins.setdefault(_name(m.group(1)), set()).add(m.group(3))
    return pins


def wanted(lines: list[str]) -> dict[str, str]:
    """name -> version of each `name==version` requirement (markers ignored)."""
    out = {}
    for line in lines:
        m = PIN.match(line.strip())
        if m:
            out[_name(m.group(1))] = m.group(3)
    return out


PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = PYPROJECT["optional-dependencies"]
CASES = {
    "lock.txt": PYPROJECT["dependencies"],
    "lock-dev.txt": PYPROJECT["dependencies"] + EXTRAS["test"] + EXTRAS["dev"]
    + EXTRAS["embedded"],
    "lock-engines.txt": (REQ / "engines.txt").read_text().splitlines(),
}


@pytest.mark.parametrize("lock", sorted(CASES))
def test_lock_pins_what_its_source_asks_for(lock: str) -> None:
    pins = locked(REQ / lock)
    for name, version in wanted(CASES[lock]).items():
        assert pins.get(name) == {version}, f"{lock}: {name}=={version} is not locked; {HINT}"


@pytest.mark.parametrize("lock", ["lock.txt", "lock-engines.txt"])
def test_locks_agree_with_the_dev_lock(lock: str) -> None:
    """One venv holds `make install` and `make engines`: shared packages have one version."""
    dev, other = locked(REQ / "lock-dev.txt"), locked(REQ / lock)
    for name in set(dev) & set(other):
        assert dev[name] == other[name], f"{lock}: {name} differs from lock-dev.txt; {HINT}"


def test_make_install_and_make_engines_use_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements/lock-dev.txt" in makefile
    assert "--require-hashes -r requirements/lock-engines.txt" in makefile
    assert "--no-deps -e ." in makefile
