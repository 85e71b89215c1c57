"""`make bench`: every benchmark, each against a baseline measured in the same run."""

from __future__ import annotations

import asyncio
import importlib
import sys

MODULES = ["bench.core", "bench.files", "bench.bridge"]


def main() -> int:
    for name in MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError as exc:
            print(f"{name}: not available ({exc})", file=sys.stderr)
            continue
        print(f"== {name}", flush=True)
        result = mod.main()
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
