"""`taskproc run` records where its Redis is in `var/run.json`; the other `taskproc` commands
started from the same directory use it when no Redis setting is given, and say which Redis
they talk to in one line on stderr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from shared.settings import Settings

VAR = Path("var")
REDIS_SETTINGS = ("TASKPROC_REDIS_URL", "REDIS_URL", "TASKPROC_REDIS_SENTINELS")


class NoServer(RuntimeError):
    """`taskproc run` left data under var/ but is not running, and no Redis setting is given."""


@dataclass(frozen=True)
class Source:
    """The Redis a command should use: settings overrides and the line that says so."""

    overrides: dict[str, Any]
    line: str


def path(var: Path = VAR) -> Path:
    return var / "run.json"


def write(var: Path, **fields: Any) -> Path:
    """Write run.json atomically (a reader never sees half a file)."""
    target = path(var)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps({"pid": os.getpid(), **fields}, option=orjson.OPT_INDENT_2))
    tmp.replace(target)
    return target


def remove(var: Path) -> None:
    """Remove run.json if it is still this process's own."""
    record = read(var)
    if record is not None and record.get("pid") == os.getpid():
        path(var).unlink(missing_ok=True)


def read(var: Path = VAR) -> dict[str, Any] | None:
    try:
        record: dict[str, Any] = orjson.loads(path(var).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    return record


def redacted(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    return urlunsplit(parts._replace(netloc=f"{user}****@{parts.hostname}"
                                     + (f":{parts.port}" if parts.port else "")))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _running(record: dict[str, Any], environ: Mapping[str, str], var: Path) -> Source:
    """The Redis (and file store, unless one is set) of the `taskproc run` that wrote `record`."""
    overrides = {"redis_url": record["redis_url"]}
    if record.get("files_dir") and not environ.get("TASKPROC_FILES_DIR"):
        overrides["files_dir"] = record["files_dir"]
    return Source(overrides, f"taskproc: Redis {redacted(record['redis_url'])} (from "
                             f"{path(var)}: `taskproc run`, pid {record['pid']})")


def source(environ: Mapping[str, str], var: Path = VAR) -> Source:
    """Which Redis to use: a Redis setting, else a running `taskproc run`, else the default."""
    given = next((name for name in REDIS_SETTINGS if environ.get(name)), None)
    if given == "TASKPROC_REDIS_SENTINELS":
        return Source({}, f"taskproc: Redis via the sentinels in {given}")
    if given is not None:
        return Source({}, f"taskproc: Redis {redacted(environ[given])} (from {given})")
    record = read(var)
    if record is not None and alive(int(record.get("pid", 0))):
        return _running(record, environ, var)
    if record is not None or (var / "redis").is_dir():
        raise NoServer(f"`taskproc run` is not running (its data is in {var}/); start it "
                       "with `make run`, or set TASKPROC_REDIS_URL to the Redis to use")
    default = Settings.model_fields["redis_url"].default
    return Source({}, f"taskproc: Redis {default} (the default; set TASKPROC_REDIS_URL to "
                      "use another)")
