"""Send the same requests to a real Nextcloud 34.0.1 and to a local taskproc; print a table.

    .venv/bin/python scripts/compare_nc34.py /work/ncdev-clients/credentials.json [--only TEXT]

The Nextcloud side is `../shared/tools/nextcloud-dev/` (setup.sh writes credentials.json; the
script runs its worker.sh for the running/finished phase). The taskproc side is started here:
a private Redis, the api (with the file routes) on a free port, and a dispatcher whose fake
providers behave like taskproc_fake (UPPER of the input, `ncdev:sleep=N`, `ncdev:fail`).
Not used by CI: the client replay tests in tests/clients/ keep what this shows true.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.compare_nc34_lib import (
    PROBES,
    Side,
    print_table,
    start_taskproc,
)


async def _phase(sides: list[Side], phase: str, only: str | None,
                 rows: list[tuple[str, list[str]]]) -> None:
    for probe in PROBES:
        if probe.phase != phase or (only and only not in probe.label):
            continue
        cells = [await asyncio.to_thread(side.run, probe) for side in sides]
        rows.append((probe.label, cells))


async def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("credentials", type=Path)
    ap.add_argument("--only", help="run only probes whose label contains this")
    args = ap.parse_args(argv)
    cred = json.loads(args.credentials.read_text())
    worker = next(p / "shared/tools/nextcloud-dev/worker.sh"
                  for p in Path(__file__).resolve().parents  # noqa: ASYNC240
                  if (p / "shared/tools/nextcloud-dev/worker.sh").exists())
    rows: list[tuple[str, list[str]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with start_taskproc(Path(tmp)) as (tp, start_dispatcher):
            nc = Side.nextcloud(cred)
            sides = [nc, tp]
            for side in sides:
                await asyncio.to_thread(side.prepare)
            await _phase(sides, "scheduled", args.only, rows)
            proc = subprocess.Popen([str(worker), cred["paths"]["dest"], "25"],  # noqa: ASYNC220
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            try:
                await start_dispatcher()
                for side in sides:
                    await asyncio.to_thread(side.wait_running)
                await _phase(sides, "running", args.only, rows)
                for side in sides:
                    await asyncio.to_thread(side.wait_finished)
                await _phase(sides, "finished", args.only, rows)
                for side in sides:
                    await asyncio.to_thread(side.rate_limit, True)
                try:
                    await _phase(sides, "limits", args.only, rows)
                finally:
                    for side in sides:
                        await asyncio.to_thread(side.rate_limit, False)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)  # worker.sh and its occ child
                proc.wait()
                print_table(rows)
    return 0


def run() -> Any:
    return asyncio.run(main(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(run())
