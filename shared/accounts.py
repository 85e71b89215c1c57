"""User and ExApp accounts. Secrets are random and stored only as SHA-256 digests.

App passwords have about 148 bits of entropy, so a fast digest is enough: there is nothing to
brute-force offline, and the lookup stays one Redis GET per request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from shared.keys import Keys

_ALPHABET = string.ascii_letters + string.digits
USER_ID = re.compile(r"^[A-Za-z0-9_.@\-' ]{1,64}$")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_app_password() -> str:
    """Nextcloud-style: five groups of five random letters and digits."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(5))


@dataclass(frozen=True)
class User:
    """A user account as stored at `{p}:user:{uid}`; `created` is unix seconds (0: unknown)."""

    id: str
    display_name: str
    admin: bool
    created: int


class _Accounts:
    """A store of accounts in Redis under the key prefix of `keys`."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def _fields(self, key: str) -> dict[str, str] | None:
        """One account's hash, decoded; None when there is none."""
        raw = await self.redis.hgetall(key)  # type: ignore[misc]
        return {k.decode(): v.decode() for k, v in raw.items()} if raw else None

    async def _ids(self, key: str) -> list[str]:
        """The sorted members of an index set."""
        return sorted(m.decode() for m in await self.redis.smembers(key))  # type: ignore[misc]


class UserStore(_Accounts):
    """Users (`{p}:user:{uid}`) and their app passwords (`{p}:apppw:{digest}`)."""

    async def add(self, user_id: str, display_name: str | None = None,
                  admin: bool = False) -> str:
        """Create a user and return its first app password."""
        if not USER_ID.match(user_id):
            raise ValueError("user ids are 1-64 letters, digits, spaces or _ . @ - '")
        created = await self.redis.hsetnx(self.keys.user(user_id), "id", user_id)  # type: ignore[misc]
        if not created:
            raise ValueError(f"user {user_id} already exists")
        await self.redis.hset(self.keys.user(user_id), mapping={  # type: ignore[misc]
            "displayName": display_name or user_id, "admin": "1" if admin else "0",
            "created": int(time.time())})
        await self.redis.sadd(self.keys.users, user_id)  # type: ignore[misc]
        return await self.new_token(user_id)

    async def new_token(self, user_id: str) -> str:
        """Issue another app password (also usable as a Bearer token)."""
        if not await self.get(user_id):
            raise ValueError(f"no user {user_id}")
        password = new_app_password()
        d = digest(password)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.apppw(d), user_id)
            pipe.sadd(self.keys.user_apppw(user_id), d)
            await pipe.execute()
        return password

    async def get(self, user_id: str) -> User | None:
        d = await self._fields(self.keys.user(user_id))
        return None if d is None else User(d["id"], d.get("displayName", d["id"]),
                                           d.get("admin") == "1", int(d.get("created") or 0))

    async def list(self) -> list[User]:
        users = [await self.get(i) for i in await self._ids(self.keys.users)]
        return [u for u in users if u is not None]

    async def remove(self, user_id: str) -> bool:
        digests = await self.redis.smembers(self.keys.user_apppw(user_id))  # type: ignore[misc]
        async with self.redis.pipeline(transaction=True) as pipe:
            for d in digests:
                pipe.delete(self.keys.apppw(d.decode()))
            pipe.delete(self.keys.user(user_id), self.keys.user_apppw(user_id))
            pipe.srem(self.keys.users, user_id)
            res = await pipe.execute()
        return bool(res[-2])

    async def verify_token(self, token: str) -> str | None:
        """The user id an app password or token belongs to."""
        uid = await self.redis.get(self.keys.apppw(digest(token)))
        return uid.decode() if uid else None

    async def login(self, login_name: str, password: str) -> str | None:
        """The user an app password signs in, if `login_name` names it. Login names match
        case-insensitively, as in Nextcloud (`ALICE:<app password>` is alice)."""
        owner = await self.verify_token(password)
        if owner is None or not hmac.compare_digest(owner.casefold().encode(),
                                                    login_name.casefold().encode()):
            return None
        return owner


@dataclass(frozen=True)
class ExApp:
    id: str
    version: str
    enabled: bool


class ExAppStore(_Accounts):
    """External apps (`{p}:exapp:{appid}`): a secret digest, a version and an enabled flag."""

    async def add(self, app_id: str, version: str = "") -> str:
        """Create (or re-key) an ExApp and return its new secret."""
        if not re.match(r"^[A-Za-z0-9_.\-]{1,64}$", app_id):
            raise ValueError("app ids are 1-64 letters, digits or _ . -")
        secret = secrets.token_urlsafe(48)
        await self.redis.hset(self.keys.exapp(app_id), mapping={  # type: ignore[misc]
            "id": app_id, "secret": digest(secret), "version": version, "enabled": "1",
            "created": int(time.time())})
        await self.redis.sadd(self.keys.exapps, app_id)  # type: ignore[misc]
        return secret

    async def get(self, app_id: str) -> ExApp | None:
        d = await self._fields(self.keys.exapp(app_id))
        return None if d is None else ExApp(d["id"], d.get("version", ""),
                                            d.get("enabled", "1") == "1")

    async def list(self) -> list[ExApp]:
        apps = [await self.get(i) for i in await self._ids(self.keys.exapps)]
        return [a for a in apps if a is not None]

    async def remove(self, app_id: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.exapp(app_id))
            pipe.srem(self.keys.exapps, app_id)
            res = await pipe.execute()
        return bool(res[0])

    async def verify(self, app_id: str, secret: str, version: str) -> bool:
        """Secret matches, app enabled, and the version matches when one is pinned."""
        raw = await self.redis.hmget(self.keys.exapp(app_id),  # type: ignore[misc]
                                     ["secret", "enabled", "version"])
        stored, enabled, pinned = (v.decode() if v else None for v in raw)
        if stored is None or enabled != "1":
            return False
        if pinned and version != pinned:
            return False
        return hmac.compare_digest(stored, digest(secret))
