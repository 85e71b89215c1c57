"""What the client replay tests act on: a live taskproc (tests/clients/conftest.py builds it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.clients.replay import Client


@dataclass
class Live:
    """The server under test and what a test needs to act on it."""

    base: str
    hold: asyncio.Event
    user: Callable[..., Awaitable[Client]]
