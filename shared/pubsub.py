"""One pub/sub subscription that outlives Redis reconnects (the api's ready hub and the
dispatcher's listener both run on it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from shared.redis import REDIS_DOWN, messages

log = logging.getLogger(__name__)

RESUBSCRIBE_SECONDS = 0.5
"""Pause before subscribing again after the connection dropped."""


async def listen_forever(redis: Redis, channels: list[str],
                         on_message: Callable[[str, str], None],
                         on_subscribed: Callable[[], None],
                         on_lost: Callable[[BaseException], None] = lambda exc: None) -> None:
    """Subscribe to `channels` and call `on_message(channel, data)` for each message; on a
    dropped connection call `on_lost(exc)`, wait a moment and subscribe again. Runs until
    cancelled. `on_subscribed()` runs after each (re)subscription, so a caller can catch up on
    what was published while it was not listening. Messages are read in short waits (a quiet
    channel is no error under the socket timeout); a Redis outage is the caller's to log (once),
    other errors are logged here."""
    while True:
        try:
            async with redis.pubsub() as ps:
                await ps.subscribe(*channels)
                on_subscribed()
                async for msg in messages(ps):
                    on_message(_text(msg["channel"]), _text(msg["data"]))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a dropped connection: subscribe again
            on_lost(exc)
            if not isinstance(exc, REDIS_DOWN):
                log.warning("pub/sub on %s failed (%r); resubscribing", ", ".join(channels), exc)
            await asyncio.sleep(RESUBSCRIBE_SECONDS)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
