"""The dispatcher `make chaos` runs: providers that log every start and every completed run.

    python -m bench.chaos_worker      # settings from TASKPROC_*, run log in CHAOS_RUNS_DIR

Each process appends `start <task id> <pid> <time>` and `done …` lines to its own file
`runs-<pid>.log` with unbuffered writes (a SIGKILL loses nothing already written, and the log
does not depend on the Redis the chaos run breaks). A run is `done` when its provider returned;
the result is stored after that.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import IO, Any

from services.dispatcher.main import DispatcherProcess
from services.dispatcher.provider_interface import Provider, ProviderContext
from shared import logs
from shared.provider_spec import ProviderSpec
from shared.settings import Settings

TEXT_TYPES = ("core:text2text", "core:text2text:summary")
SPEECH_TYPE = "core:text2speech"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)
"""A tiny (silent, header-only) WAV: what the speech provider returns as its output file."""


class RunLog:
    """One append-only file per process."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.pid = os.getpid()
        self.file: IO[bytes] = open(directory / f"runs-{self.pid}.log", "ab", buffering=0)

    def write(self, event: str, task_id: int) -> None:
        self.file.write(f"{event} {task_id} {self.pid} {time.time()!r}\n".encode())


class ChaosProvider:
    """Works 0.1-0.5 s; text types echo their input, the speech type returns a WAV file."""

    def __init__(self, task_type: str, runs: RunLog) -> None:
        self.spec = ProviderSpec(id=f"chaos:{task_type}", name="Chaos", task_type=task_type)
        self.runs = runs

    async def process(self, inputs: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
        self.runs.write("start", ctx.task_id)
        await asyncio.sleep(random.uniform(0.1, 0.5))
        self.runs.write("done", ctx.task_id)
        if self.spec.task_type == SPEECH_TYPE:
            return {"speech": WAV}
        return {"output": str(inputs.get("input", "")).upper()}


def providers(runs: RunLog) -> list[Provider]:
    return [ChaosProvider(t, runs) for t in (*TEXT_TYPES, SPEECH_TYPE)]


async def main() -> None:
    settings = Settings.from_env()
    logs.setup("INFO")
    runs = RunLog(Path(os.environ["CHAOS_RUNS_DIR"]))
    await DispatcherProcess(settings, providers(runs), handle_signals=True).run()


if __name__ == "__main__":
    asyncio.run(main())
