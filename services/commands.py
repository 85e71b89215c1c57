"""Operator commands declared beside their code: `@COMMANDS("user add", "…", arg("uid"))` on
a function of the stores and the parsed arguments. `Commands.add_to` puts a module's commands on
the CLI's parser in the order they are declared; each runs against the stores the services
build (`Stores.build`), and Redis is closed after it.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from shared.settings import Settings
from shared.stores import Stores

Command = Callable[[Settings, argparse.Namespace], Awaitable[int]]
"""What a subcommand's `func` is: settings and parsed arguments in, exit code out."""
OnStores = Callable[[Stores, argparse.Namespace], Awaitable[int]]
"""What a command's code is: the stores and parsed arguments in, exit code out."""


@dataclass(frozen=True)
class Arg:
    """One argument, as `ArgumentParser.add_argument` takes it."""

    names: tuple[str, ...]
    options: dict[str, Any]


def arg(*names: str, **options: Any) -> Arg:
    return Arg(names, options)


@dataclass(frozen=True)
class _Declared:
    group: str
    """The first word of a two-word command (`user` of `user add`), else empty."""
    name: str
    help: str | None
    args: tuple[Arg, ...]
    func: Command


def on_stores(fn: OnStores) -> Command:
    """Run `fn` against the stores built from the settings; close Redis after."""
    @functools.wraps(fn)
    async def command(settings: Settings, args: argparse.Namespace) -> int:
        stores = Stores.build(settings)
        try:
            return await fn(stores, args)
        finally:
            await stores.redis.aclose()
    return command


class Commands:
    """The commands of one module; `groups` gives each group's help (`user`: "manage users")."""

    def __init__(self, groups: dict[str, str]) -> None:
        self.groups = groups
        self.declared: list[_Declared] = []

    def __call__(self, words: str, help: str | None = None,
                 *args: Arg) -> Callable[[OnStores], Command]:
        """Declare a command by its words on the command line, its help and its arguments."""
        def declare(fn: OnStores) -> Command:
            command = on_stores(fn)
            group, _, name = words.rpartition(" ")
            self.declared.append(_Declared(group, name, help, args, command))
            return command
        return declare

    def add_to(self, sub: Any) -> None:
        """Add every command (and its group, the first time) to the CLI's subparsers."""
        groups: dict[str, Any] = {}
        for cmd in self.declared:
            parent = sub
            if cmd.group:
                if cmd.group not in groups:
                    groups[cmd.group] = sub.add_parser(
                        cmd.group, help=self.groups[cmd.group]).add_subparsers(
                        dest="action", required=True)
                parent = groups[cmd.group]
            # argparse lists a subcommand in its parent's help only when given a help text
            parser = parent.add_parser(cmd.name, **({} if cmd.help is None else {"help": cmd.help}))
            for a in cmd.args:
                parser.add_argument(*a.names, **a.options)
            parser.set_defaults(func=cmd.func)
