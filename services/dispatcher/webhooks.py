"""Webhooks with Nextcloud's semantics (its TaskProcessing Manager::runWebhook): `{"task": …}` as
JSON, fired after a result and after a cancel, delivered apart from task execution.

Beyond Nextcloud, because a webhook URL is chosen by any user:
- only public destinations: every address a name resolves to must be global unless it is in
  `webhook_allow_networks`; the check sits in the connector's resolver, so the address checked
  is the address connected to (no rebinding window); literal IPs are checked before the
  request; redirects are not followed.
- the response body is never read (a status is all we need), and the whole exchange has a
  timeout.
- delivery runs on its own arq queue with its own concurrency (`webhook_concurrency`), so a
  slow receiver never holds a task slot; failures (connection errors, timeouts, 429, 5xx)
  are retried with exponential backoff up to `webhook_max_attempts`.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from arq import Retry

from shared.netaddr import IPAddress, IPNetwork, parse_networks
from shared.store import TaskStore

log = logging.getLogger(__name__)
HTTP_METHODS = {"HTTP:GET": "GET", "HTTP:POST": "POST", "HTTP:PUT": "PUT",
                "HTTP:DELETE": "DELETE"}
MAX_BACKOFF_SECONDS = 300.0


class WebhookRefused(aiohttp.ClientError):
    """The destination is not public (or not http/https); never retried."""


def allowed_address(addr: IPAddress, allow: Iterable[IPNetwork]) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_global or any(addr in net for net in allow)


class PublicOnlyResolver(AbstractResolver):
    """Resolves with the system resolver and refuses names with any non-public address."""

    def __init__(self, allow: Iterable[IPNetwork]) -> None:
        self.allow = list(allow)
        self.inner = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for r in results:
            if not allowed_address(ipaddress.ip_address(r["host"]), self.allow):
                raise WebhookRefused(f"{host} resolves to the non-public address {r['host']}")
        return results

    async def close(self) -> None:
        await self.inner.close()


def check_url(uri: str, allow: Iterable[IPNetwork]) -> None:
    """Scheme and, for a literal IP host, the address (names are checked by the resolver)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused(f"not an http(s) URL: {uri[:200]}")
    try:
        addr = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return
    if not allowed_address(addr, allow):
        raise WebhookRefused(f"non-public destination {addr}")


def webhook_session(allow_networks: list[str], concurrency: int) -> aiohttp.ClientSession:
    """A client session whose connections only reach public (or allowed) addresses."""
    allow = parse_networks(allow_networks)
    connector = aiohttp.TCPConnector(resolver=PublicOnlyResolver(allow), limit=concurrency,
                                     use_dns_cache=False)
    return aiohttp.ClientSession(connector=connector, trust_env=False)


def backoff(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: 1, 2, 4, … capped."""
    return float(min(MAX_BACKOFF_SECONDS, 2 ** max(0, attempt - 1)))


async def fire_webhook(store: TaskStore, session: aiohttp.ClientSession, task_id: int, *,
                       timeout: float, allow_networks: list[str], attempt: int = 1,
                       max_attempts: int = 1) -> None:
    """Deliver one task's webhook; raises arq's Retry for a failure worth trying again."""
    task = await store.get(task_id)
    if task is None:
        return
    if task.webhook is None:
        return
    uri, method = task.webhook
    if method.startswith("AppAPI:"):
        log.warning("task %s: AppAPI webhooks (%s) are not supported; skipped", task_id, method)
        return
    verb = HTTP_METHODS.get(method)
    if verb is None:
        return
    try:
        check_url(uri, parse_networks(allow_networks))
        async with session.request(verb, uri, json={"task": task.to_json()},
                                   allow_redirects=False,
                                   timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            status = resp.status
            resp.close()  # the body is never read: drop the connection instead
        if status < 300:
            return
        failure = f"answered {status}" + (" (redirects are not followed)" if status < 400 else "")
        retry = status == 429 or status >= 500
    except WebhookRefused as exc:
        log.warning("task %s: webhook %s %s refused: %s", task_id, verb, uri[:200], exc)
        return
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        failure, retry = f"failed: {exc!r}", True
    _give_up_or_retry(task_id, verb, uri, failure, retry, attempt, max_attempts)


def _give_up_or_retry(task_id: int, verb: str, uri: str, failure: str, retry: bool,
                      attempt: int, max_attempts: int) -> None:
    if retry and attempt < max_attempts:
        delay = backoff(attempt)
        log.info("task %s: webhook %s %s %s; retry %d in %.0f s", task_id, verb, uri[:200],
                 failure, attempt + 1, delay)
        raise Retry(defer=delay)
    log.warning("task %s: webhook %s %s %s (attempt %d, giving up)", task_id, verb, uri[:200],
                failure, attempt)
