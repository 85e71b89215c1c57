"""Operator commands: users, ExApps, provider preferences."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from services.commands import Commands, arg
from shared.stores import Stores

COMMANDS = Commands({"user": "manage users", "exapp": "manage ExApps", "provider": "providers"})


def add_commands(sub: Any) -> None:
    COMMANDS.add_to(sub)


async def _removed(label: str, remove: Callable[[str], Awaitable[bool]], name: str) -> int:
    """Remove an account; say whether there was one (exit code 1 when not)."""
    ok = await remove(name)
    print(f"{label} {name} {'removed' if ok else 'not found'}")
    return 0 if ok else 1


@COMMANDS("user add", "create a user and print an app password",
          arg("uid"), arg("--display-name"), arg("--admin", action="store_true"))
async def user_add(st: Stores, args: argparse.Namespace) -> int:
    password = await st.users.add(args.uid, args.display_name, args.admin)
    print(f"user {args.uid} created; app password: {password}")
    return 0


@COMMANDS("user list", "list users")
async def user_list(st: Stores, args: argparse.Namespace) -> int:
    for u in await st.users.list():
        print(f"{u.id}\t{u.display_name}\t{'admin' if u.admin else ''}")
    return 0


@COMMANDS("user remove", "remove a user and its app passwords", arg("uid"))
async def user_remove(st: Stores, args: argparse.Namespace) -> int:
    return await _removed("user", st.users.remove, args.uid)


@COMMANDS("user token", "issue another app password / Bearer token", arg("uid"))
async def user_token(st: Stores, args: argparse.Namespace) -> int:
    print(await st.users.new_token(args.uid))
    return 0


@COMMANDS("exapp add", "create an ExApp and print its secret",
          arg("app_id"), arg("--version", default="", help="pin EX-APP-VERSION (default: any)"))
async def exapp_add(st: Stores, args: argparse.Namespace) -> int:
    secret = await st.exapps.add(args.app_id, args.version)
    print(f"ExApp {args.app_id} created; secret: {secret}")
    return 0


@COMMANDS("exapp list")
async def exapp_list(st: Stores, args: argparse.Namespace) -> int:
    for a in await st.exapps.list():
        print(f"{a.id}\t{a.version or '*'}\t{'enabled' if a.enabled else 'disabled'}")
    return 0


@COMMANDS("exapp remove", None, arg("app_id"))
async def exapp_remove(st: Stores, args: argparse.Namespace) -> int:
    return await _removed("ExApp", st.exapps.remove, args.app_id)


@COMMANDS("provider list", "available providers per task type")
async def provider_list(st: Stores, args: argparse.Namespace) -> int:
    snap = await st.registry.snapshot()
    for spec in sorted(snap.providers.values(), key=lambda s: (s.task_type, s.id)):
        mark = "*" if snap.preferred(spec.task_type) == spec else " "
        print(f"{mark} {spec.task_type}\t{spec.id}\t{spec.kind}\t{spec.name}")
    return 0


@COMMANDS("provider prefer", "set a type's provider (without one: back to the default)",
          arg("task_type"), arg("provider_id", nargs="?"))
async def provider_prefer(st: Stores, args: argparse.Namespace) -> int:
    await st.registry.set_preference(args.task_type, args.provider_id)
    print(f"{args.task_type}: preferred provider "
          f"{args.provider_id or '(default: first registered)'}")
    return 0
