"""The providers a dispatcher offers: local engines first, then OpenAI-compatible backends.

`load_providers(settings)` returns the active providers and (provider id, reason) for each one
that is not offered; the dispatcher logs both at start-up. Providers that exist only for tests
live under tests/ and are passed to the dispatcher directly; no setting reaches them.
"""

from __future__ import annotations

import logging

from services.dispatcher.provider_interface import Provider
from shared.settings import Settings

log = logging.getLogger(__name__)


def load_providers(settings: Settings) -> tuple[list[Provider], list[tuple[str, str]]]:
    from services.dispatcher.engines.local import local_providers
    from services.dispatcher.engines.openai_compat import openai_providers

    active, skipped = local_providers(settings)
    remote, remote_skipped = openai_providers(settings)
    return active + remote, skipped + remote_skipped


def log_providers(active: list[Provider], skipped: list[tuple[str, str]]) -> None:
    for p in active:
        log.info("provider %s active for %s", p.spec.id, p.spec.task_type)
    for pid, reason in skipped:
        log.info("provider %s not offered: %s", pid, reason)
