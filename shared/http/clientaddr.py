"""The client's address, taken from forwarding headers only behind configured trusted proxies.

Behind a router (compose's nginx, a Kubernetes Ingress) `request.remote` is the router's
address, so guest tasks, the login throttle and the rate limits would lump every client
together. `trusted_proxies` (setting `TASKPROC_TRUSTED_PROXIES`: IPs and CIDRs) names the hops
whose forwarding header is believed; the header is read right to left (each proxy appends the
address it saw), skipping trusted hops, and the first untrusted address is the client. With no
trusted proxies (the default) or a peer that is not one, headers are ignored: a client cannot
pick its own address.

Only ONE header is read (`forwarded_header`: `x-forwarded-for`, nginx's
`proxy_add_x_forwarded_for`, or RFC 7239 `forwarded`), because a proxy that maintains one
passes the other through from the client untouched.

aiohttp-remotes was considered: its XForwardedStrict wants an exact hop list per position and
answers 400 to a direct client, and its Forwarded variants trust headers the proxy did not
write; this is the small careful walk instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Middleware

from shared.netaddr import ForwardedHeader, IPAddress, parse_address, parse_networks

CLIENT_ADDRESS = web.RequestKey("client_address", str)
MAX_HOPS = 32
"""Forwarding entries looked at, at most (a longer header is a client's invention anyway)."""
MAX_TOKEN = 64


class ClientAddressResolver:
    """Resolves a request's client address from its peer and, behind trusted proxies, a
    forwarding header."""

    def __init__(self, trusted: Iterable[str],
                 header: ForwardedHeader = "x-forwarded-for") -> None:
        self.trusted = parse_networks(trusted)
        self.header = header

    def is_trusted(self, addr: IPAddress | None) -> bool:
        return addr is not None and any(addr in net for net in self.trusted)

    def resolve(self, request: web.Request) -> str:
        peer = request.remote or "unknown"
        if not self.trusted or not self.is_trusted(parse_address(peer)):
            return peer
        hops = self._hops(request)
        for token in reversed(hops[-MAX_HOPS:]):
            addr = parse_address(token)
            if addr is None:  # an obfuscated or broken entry written by a trusted hop
                return token.strip()[:MAX_TOKEN] or peer
            if not self.is_trusted(addr):
                return str(addr)
        if hops:  # every hop is trusted: the leftmost is as far back as we can see
            first = parse_address(hops[-MAX_HOPS:][0])
            return str(first) if first is not None else peer
        return peer

    def _hops(self, request: web.Request) -> list[str]:
        if self.header == "forwarded":
            try:
                entries = request.forwarded
            except ValueError:
                return []
            return [str(e["for"]) for e in entries if "for" in e]
        return [part for value in request.headers.getall("X-Forwarded-For", ())
                for part in value.split(",") if part.strip()]


def client_address(request: web.Request) -> str:
    """The address set by `client_address_middleware` (the peer when it did not run)."""
    return request.get(CLIENT_ADDRESS) or request.remote or "unknown"


def client_address_middleware(resolver: ClientAddressResolver) -> Middleware:
    """Resolve the client address once per request, before anything uses it."""
    @web.middleware
    async def middleware(request: web.Request, handler: Callable[
            [web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        request[CLIENT_ADDRESS] = resolver.resolve(request)
        return await handler(request)
    return middleware
