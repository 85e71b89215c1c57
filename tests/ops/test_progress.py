"""The CLI's progress lines and tables: live updates on a terminal, one final line elsewhere,
aligned columns. A real `taskproc task cleanup` on a pseudo-terminal shows the live line."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import sys
import time
from pathlib import Path
from typing import Any

from services.progress import Progress, Stage
from services.tables import cut, table
from shared.settings import Settings
from tests.support.ocs import scheduled_id
from tests.support.providers import register_alive

ROOT = Path(__file__).resolve().parents[2]


def test_progress_updates_in_place_on_a_terminal() -> None:
    out = io.StringIO()
    with Progress("deleting", 4, stream=out, live=True, every=0) as p:
        for _ in range(4):
            p.advance()
    text = out.getvalue()
    assert text.count("\r\033[K") == 5  # four updates and the final line
    assert "deleting: 2/4 (50%)" in text and text.rstrip("\n").rsplit("\r\033[K", 1)[1] \
        .startswith("deleting: 4/4 (100%)")


def test_progress_writes_only_the_final_line_elsewhere() -> None:
    out = io.StringIO()
    try:
        with Progress("requeueing", 3, stream=out, live=False) as p:
            p.advance()
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert out.getvalue().startswith("requeueing: 1/3 (33%)")
    assert out.getvalue().endswith(" (interrupted)\n") and out.getvalue().count("\n") == 1


async def test_stage_puts_other_lines_above_its_ticking_line() -> None:
    out = io.StringIO()
    with Stage("loading", stream=out, live=True, every=0.01) as stage:
        stage.write("provider x active\n")
    text = out.getvalue()
    assert text.startswith("\r\033[Kprovider x active\nloading... 0s\r\033[Kloading: done in ")
    quiet = io.StringIO()
    with Stage("loading", stream=quiet, live=False):
        pass
    assert quiet.getvalue().splitlines()[0] == "loading..."
    assert quiet.getvalue().splitlines()[1].startswith("loading: done in ")


def test_table_aligns_text_left_and_numbers_right() -> None:
    text = table(("type", "waiting", "age"), [("core:a", 3, 1.25), ("core:text2text", 120, 0.0)])
    assert text.splitlines() == [
        "type            waiting  age",
        "--------------  -------  ---",
        "core:a                3  1.2",
        "core:text2text      120  0.0",
    ]
    assert cut("x" * 130) == "x" * 100 + "… (+30 chars)"
    assert cut("a\nb") == "a\\nb"


async def test_cleanup_on_a_terminal_shows_live_progress(api: Any, make_user: Any, redis: Any,
                                                         keys: Any, settings: Settings) -> None:
    await register_alive(redis, keys)
    alice = await make_user("alice")
    old = [await scheduled_id(api, alice) for _ in range(5)]
    await redis.zadd(keys.tasks_updated, {str(t): int(time.time()) - 10 * 86400 for t in old})
    leader, follower = pty.openpty()
    env = dict(os.environ, TASKPROC_REDIS_URL=settings.redis_url, PYTHONPATH=str(ROOT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "task", "cleanup", "--older-than-days", "5",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=follower)
    os.close(follower)
    async with asyncio.timeout(60):
        out, _ = await proc.communicate()
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    err = b"".join(chunks).decode()
    assert proc.returncode == 0 and out.decode().strip() == "deleted 5 task(s)"
    assert "\r\033[Klooking at old tasks: 5/5 (100%)" in err
