"""`taskproc`: run a role (api, dispatcher, fileproxy, bridge, run) or manage accounts and
providers."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from redis.exceptions import RedisError

from services import admin, ops, roles, runfile
from shared.settings import Settings, SettingsInvalid


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="taskproc", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    for role in ("api", "dispatcher", "fileproxy", "bridge"):
        sub.add_parser(role, help=f"run the {role} role")
    run = sub.add_parser("run", help="development: embedded Redis, api+fileproxy, dispatcher")
    run.add_argument("--var", default="var", help="data directory (default ./var)")
    run.add_argument("--demo-user", default="demo")
    admin.add_commands(sub)
    ops.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        # `run` chooses its Redis itself; everything else may use the one `run` recorded
        where = None if args.cmd == "run" else runfile.source(os.environ)
        settings = Settings.from_env(**(where.overrides if where else {}))
    except SettingsInvalid as exc:  # one line naming the variable, no traceback
        print(f"taskproc: {exc}", file=sys.stderr)
        return 2
    except runfile.NoServer as exc:
        print(f"taskproc: {exc}", file=sys.stderr)
        return 1
    runners: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
        "api": roles.run_api, "dispatcher": roles.run_dispatcher,
        "fileproxy": roles.run_fileproxy, "bridge": roles.run_bridge,
        "run": roles.run_dev}
    if args.cmd in runners:  # roles log the line (as JSON when the logs are JSON)
        args.redis_line = where.line if where else None
        return runners[args.cmd](settings, args)
    if where is not None:
        print(where.line, file=sys.stderr, flush=True)
    command: Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]] = args.func
    try:
        return asyncio.run(command(settings, args))
    except ValueError as exc:  # bad names, duplicates, unknown users: say so, no traceback
        print(f"taskproc: {exc}", file=sys.stderr)
        return 2
    except (RedisError, OSError) as exc:
        print(f"taskproc: Redis at {runfile.redacted(settings.redis_url)} did not answer: "
              f"{exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
