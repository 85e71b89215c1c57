"""Guests, the login throttle and rate limits behind a router (issue 11 item 1), over real HTTP
against a real Redis. The test client's peer is 127.0.0.1: the "router" when it is trusted."""

from __future__ import annotations

from typing import Any

import pytest

from services.api.app import create_app
from shared.registry import ProviderRegistry
from shared.settings import RateLimitSettings, Settings
from tests.support.ocs import OCS_HEADERS, V2, basic, schedule
from tests.support.providers import EchoProvider


def via(addr: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    return (headers or OCS_HEADERS) | {"X-Forwarded-For": addr}


@pytest.fixture
async def routed(aiohttp_client: Any, settings: Settings, redis: Any, keys: Any) -> Any:
    """The api behind a trusted router, guests on, small caps."""
    await ProviderRegistry(redis, keys).register(EchoProvider().spec, ttl_seconds=60)
    limits = RateLimitSettings(schedule_guest="2/2 minutes", failed_login="3/1 minute",
                               failed_login_address="5/1 minute")
    s = settings.model_copy(update={"guests": True, "trusted_proxies": ["127.0.0.1"],
                                    "rate_limits": limits})
    return await aiohttp_client(create_app(s))


async def test_guests_behind_the_router_cannot_read_each_others_tasks(routed: Any) -> None:
    resp = await schedule(routed, via("203.0.113.1"))
    assert resp.status == 200, await resp.text()
    tid = (await resp.json())["ocs"]["data"]["task"]["id"]
    other = await routed.get(f"{V2}/task/{tid}?format=json", headers=via("203.0.113.2"))
    assert other.status == 404
    mine = await routed.get(f"{V2}/task/{tid}?format=json", headers=via("203.0.113.1"))
    assert mine.status == 200
    # a client prepending a forged entry still gets the address the router saw
    forged = await routed.get(f"{V2}/task/{tid}?format=json",
                              headers=via("203.0.113.1, 203.0.113.2"))
    assert forged.status == 404


async def test_forwarding_headers_of_an_untrusted_peer_are_ignored(
        aiohttp_client: Any, settings: Settings, redis: Any, keys: Any) -> None:
    await ProviderRegistry(redis, keys).register(EchoProvider().spec, ttl_seconds=60)
    api = await aiohttp_client(create_app(settings.model_copy(update={"guests": True})))
    tid = (await (await schedule(api, via("203.0.113.1"))).json())["ocs"]["data"]["task"]["id"]
    # same peer, another claimed address: the header is not believed, so it is the same guest
    resp = await api.get(f"{V2}/task/{tid}?format=json", headers=via("198.51.100.9"))
    assert resp.status == 200


async def test_guest_rate_limit_is_per_client(routed: Any) -> None:
    assert [(await schedule(routed, via("203.0.113.1"))).status for _ in range(3)] == [
        200, 200, 429]
    assert (await schedule(routed, via("203.0.113.2"))).status == 200


async def test_failed_logins_lock_out_only_that_address_and_login(routed: Any,
                                                                  make_user: Any) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    wrong = basic("alice", "nope")
    statuses = [(await routed.get(f"{V2}/tasktypes?format=json",
                                  headers=via("203.0.113.66", wrong))).status for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    refused = await routed.get(f"{V2}/tasktypes?format=json", headers=via("203.0.113.66", alice))
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert (await refused.json())["ocs"]["data"] == {"message": "Reached maximum delay"}
    # alice elsewhere, and bob from the attacker's address, are not locked out
    assert (await routed.get(f"{V2}/tasktypes?format=json",
                             headers=via("203.0.113.5", alice))).status == 200
    assert (await routed.get(f"{V2}/tasktypes?format=json",
                             headers=via("203.0.113.66", bob))).status == 200


async def test_password_spraying_locks_out_the_sprayer(routed: Any, make_user: Any) -> None:
    bob = await make_user("bob")
    for i in range(5):
        resp = await routed.get(f"{V2}/tasktypes?format=json",
                                headers=via("203.0.113.66", basic(f"user{i}", "x")))
        assert resp.status == 401
    resp = await routed.get(f"{V2}/tasktypes?format=json", headers=via("203.0.113.66", bob))
    assert resp.status == 429 and "Retry-After" in resp.headers
    assert (await routed.get(f"{V2}/tasktypes?format=json",
                             headers=via("203.0.113.7", bob))).status == 200


@pytest.mark.parametrize("credentials", [
    basic("alice", "nope"),
    {"Authorization": "Basic !!!notbase64", "OCS-APIRequest": "true"},
    {"Authorization": "Bearer not-a-token", "OCS-APIRequest": "true"},
])
async def test_wrong_credentials_are_401_never_a_guest(routed: Any, make_user: Any,
                                                       credentials: dict[str, str]) -> None:
    await make_user("alice")
    for path in ("/tasktypes", "/schedule"):
        method = routed.post if path == "/schedule" else routed.get
        resp = await method(f"{V2}{path}?format=json", headers=via("203.0.113.9", credentials),
                            json={"type": "core:text2text", "appId": "t",
                                  "input": {"input": "hi"}})
        assert resp.status == 401, path
        assert (await resp.json())["ocs"]["meta"]["statuscode"] == 997
