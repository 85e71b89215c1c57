"""Operator commands: users, ExApps, provider preferences."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from shared.settings import Settings
from shared.stores import Stores


def add_commands(sub: Any) -> None:
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="create a user and print an app password")
    add.add_argument("uid")
    add.add_argument("--display-name")
    add.add_argument("--admin", action="store_true")
    add.set_defaults(func=user_add)
    user.add_parser("list", help="list users").set_defaults(func=user_list)
    rm = user.add_parser("remove", help="remove a user and its app passwords")
    rm.add_argument("uid")
    rm.set_defaults(func=user_remove)
    tok = user.add_parser("token", help="issue another app password / Bearer token")
    tok.add_argument("uid")
    tok.set_defaults(func=user_token)
    ex = sub.add_parser("exapp", help="manage ExApps").add_subparsers(dest="action", required=True)
    exadd = ex.add_parser("add", help="create an ExApp and print its secret")
    exadd.add_argument("app_id")
    exadd.add_argument("--version", default="", help="pin EX-APP-VERSION (default: any)")
    exadd.set_defaults(func=exapp_add)
    ex.add_parser("list").set_defaults(func=exapp_list)
    exrm = ex.add_parser("remove")
    exrm.add_argument("app_id")
    exrm.set_defaults(func=exapp_remove)
    prov = sub.add_parser("provider", help="providers").add_subparsers(dest="action", required=True)
    prov.add_parser("list", help="available providers per task type").set_defaults(
        func=provider_list)
    pref = prov.add_parser("prefer", help="set (or with --clear, unset) a type's provider")
    pref.add_argument("task_type")
    pref.add_argument("provider_id", nargs="?")
    pref.set_defaults(func=provider_prefer)


async def _with(settings: Settings, fn: Callable[[Stores], Awaitable[int]]) -> int:
    """Run one command against the stores (the services' own builder), then close Redis."""
    stores = Stores.build(settings)
    try:
        return await fn(stores)
    finally:
        await stores.redis.aclose()


async def user_add(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
        password = await st.users.add(args.uid, args.display_name, args.admin)
        print(f"user {args.uid} created; app password: {password}")
        return 0
    return await _with(settings, go)


async def user_list(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
        for u in await st.users.list():
            print(f"{u.id}\t{u.display_name}\t{'admin' if u.admin else ''}")
        return 0
    return await _with(settings, go)


async def user_remove(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
        ok = await st.users.remove(args.uid)
        print(f"user {args.uid} {'removed' if ok else 'not found'}")
        return 0 if ok else 1
    return await _with(settings, go)


async def user_token(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
        print(await st.users.new_token(args.uid))
        return 0
    return await _with(settings, go)


async def exapp_add(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
        secret = await st.exapps.add(args.app_id, args.version)
        print(f"ExApp {args.app_id} created; secret: {secret}")
        return 0
    return await _with(settings, go)


async def exapp_list(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
        for a in await st.exapps.list():
            print(f"{a.id}\t{a.version or '*'}\t{'enabled' if a.enabled else 'disabled'}")
        return 0
    return await _with(settings, go)


async def exapp_remove(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
        ok = await st.exapps.remove(args.app_id)
        print(f"ExApp {args.app_id} {'removed' if ok else 'not found'}")
        return 0 if ok else 1
    return await _with(settings, go)


async def provider_list(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
        snap = await st.registry.snapshot()
        for spec in sorted(snap.providers.values(), key=lambda s: (s.task_type, s.id)):
            mark = "*" if snap.preferred(spec.task_type) == spec else " "
            print(f"{mark} {spec.task_type}\t{spec.id}\t{spec.kind}\t{spec.name}")
        return 0
    return await _with(settings, go)


async def provider_prefer(settings: Settings, args: argparse.Namespace) -> int:
    async def go(st: Stores) -> int:
        await st.registry.set_preference(args.task_type, args.provider_id)
        print(f"{args.task_type}: preferred provider "
              f"{args.provider_id or '(default: first registered)'}")
        return 0
    return await _with(settings, go)
