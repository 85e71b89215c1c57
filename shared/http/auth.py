"""Who is calling: HTTP Basic with an app password, a Bearer token, or AppAPI headers.

Failed logins are counted with the `limits` library per client address AND login name
(`failed_login`) and per client address alone (`failed_login_address`, against spraying many
names); past a cap that caller gets 429 with Retry-After until the window frees, like
Nextcloud's brute-force throttle. A stranger's guesses never lock anyone else out: another
address, or the same address with another login, is counted apart. The client address is the
one `shared.http.clientaddr` resolved (trusted proxies only).

Wrong credentials are a 401, never a silent fallback to guest.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

from shared.accounts import ExAppStore, UserStore
from shared.errors import LoginFailed
from shared.http.clientaddr import client_address
from shared.http.ratelimit import RateLimiter
from shared.tasks import Owner


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ExApps may act as a user (user_id set) or without one."""

    user_id: str | None
    app_api: bool = False
    app_id: str | None = None
    admin: bool = False
    bearer: bool = False


GUEST = Principal(user_id=None)


__all__ = ["GUEST", "Authenticator", "Principal", "client_address", "login_failed",
           "task_owner"]
MAX_LOGIN = 64
"""Characters of a claimed login name used in the throttle's key."""
LOGIN_FAILED = web.RequestKey("login_failed", bool)
"""Set when the request carried credentials that did not sign in."""


def login_failed(request: web.Request) -> bool:
    """Wrong credentials were given: such a request is never served as a guest."""
    return bool(request.get(LOGIN_FAILED, False))


def task_owner(who: Principal, request: web.Request) -> Owner:
    """Whose tasks the caller may see and change: a user's own; an ExApp acting without a user,
    the user-less tasks it scheduled; a guest, those scheduled from its address."""
    if who.user_id is not None:
        return Owner.user(who.user_id)
    if who.app_api:
        return Owner.exapp(who.app_id or "")
    return Owner.guest(client_address(request))


def _b64(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


class _Cache:
    """Recently verified credentials, so a polling client costs no Redis lookups.

    A removed user or revoked password stops working within `ttl` seconds.
    """

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self.items: OrderedDict[tuple[str, ...], tuple[float, Principal]] = OrderedDict()

    def get(self, key: tuple[str, ...]) -> Principal | None:
        hit = self.items.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: tuple[str, ...], principal: Principal) -> None:
        self.items[key] = (time.monotonic() + self.ttl, principal)
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)


_CREDENTIAL_HEADERS = ("Authorization", "EX-APP-ID", "EX-APP-VERSION", "AA-VERSION",
                       "AUTHORIZATION-APP-API")


class Authenticator:
    """Resolves a request's credentials to a Principal (None: no credentials given)."""

    def __init__(self, users: UserStore, exapps: ExAppStore, limiter: RateLimiter,
                 cache_seconds: float = 5.0) -> None:
        self.users = users
        self.exapps = exapps
        self.limiter = limiter
        self.cache = _Cache(cache_seconds)

    async def authenticate(self, request: web.Request) -> Principal | None:
        """None when no credentials were given, or wrong Bearer or AppAPI ones (Nextcloud
        treats those as anonymous; `login_failed(request)` then tells the guest check).
        Raises TooManyRequests when throttled and LoginFailed for Basic credentials that do
        not sign in. Every wrong credential counts as a failed login."""
        key = tuple(request.headers.get(h, "") for h in _CREDENTIAL_HEADERS)
        if not any(key):
            return None
        cached = self.cache.get(key) if self.cache.ttl > 0 else None
        if cached is not None:
            return cached
        principal = await self._authenticate(request)
        if principal is not None:
            self.cache.put(key, principal)
        return principal

    async def _authenticate(self, request: web.Request) -> Principal | None:
        h = request.headers
        if "AUTHORIZATION-APP-API" in h or "EX-APP-ID" in h:
            return await self._checked(request, "app:" + h.get("EX-APP-ID", ""),
                                       self._app_api(request))
        auth = h.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "basic":
            decoded = _b64(value.strip())
            if decoded is None or ":" not in decoded:
                request[LOGIN_FAILED] = True  # Nextcloud: no credentials; never a guest here
                return None
            principal = await self._checked(request, "user:" + decoded.partition(":")[0],
                                            self._basic(decoded))
            if principal is None:
                raise LoginFailed()
            return principal
        if scheme.lower() == "bearer" and value.strip():
            return await self._checked(request, "bearer", self._bearer(value.strip()))
        return None

    async def _checked(self, request: web.Request, login: str,
                       attempt: object) -> Principal | None:
        addr = client_address(request)
        caps = (("failed_login", f"{addr} {login[:MAX_LOGIN]}"), ("failed_login_address", addr))
        for name, ident in caps:
            try:
                allowed = await self.limiter.test(name, ident)
            except BaseException:  # Redis away (the request becomes a 503): drop the attempt too
                await _close(attempt)
                raise
            if not allowed:
                await _close(attempt)
                raise await self.limiter.refusal(name, ident, "Reached maximum delay")
        principal = await attempt  # type: ignore[misc]
        if principal is None:
            for name, ident in caps:
                await self.limiter.hit(name, ident)
            request[LOGIN_FAILED] = True
        return principal  # type: ignore[no-any-return]

    async def _basic(self, decoded: str) -> Principal | None:
        login_name, password = decoded.split(":", 1)
        user_id = await self.users.login(login_name, password)
        return await self._user(user_id) if user_id is not None else None

    async def _bearer(self, token: str) -> Principal | None:
        user_id = await self.users.verify_token(token)
        if user_id is None:
            return None
        p = await self._user(user_id)
        return Principal(p.user_id, admin=p.admin, bearer=True) if p else None

    async def _user(self, user_id: str) -> Principal | None:
        user = await self.users.get(user_id)
        return Principal(user.id, admin=user.admin) if user else None

    async def _app_api(self, request: web.Request) -> Principal | None:
        h = request.headers
        app_id, version = h.get("EX-APP-ID", ""), h.get("EX-APP-VERSION", "")
        decoded = _b64(h.get("AUTHORIZATION-APP-API", ""))
        if not app_id or decoded is None or ":" not in decoded or "AA-VERSION" not in h:
            return None
        user_id, secret = decoded.split(":", 1)
        if not await self.exapps.verify(app_id, secret, version):
            return None
        if user_id:
            user = await self.users.get(user_id)
            if user is None:
                return None
            return Principal(user.id, app_api=True, app_id=app_id, admin=user.admin)
        return Principal(None, app_api=True, app_id=app_id)


async def _close(coro: object) -> None:
    close = getattr(coro, "close", None)
    if close is not None:
        close()
