"""The client address: forwarding headers believed only from configured trusted proxies.

Real HTTP through aiohttp's test server; the test client's peer address is 127.0.0.1, so a
"trusted router" is 127.0.0.1 and an untrusted one is any list without it.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from shared.http.clientaddr import ClientAddressResolver, client_address, client_address_middleware
from shared.settings import Settings


async def echo_address(request: web.Request) -> web.Response:
    return web.Response(text=client_address(request))


async def client_for(aiohttp_client: Any, trusted: list[str], header: str = "x-forwarded-for"
                     ) -> Any:
    resolver = ClientAddressResolver(trusted, header)  # type: ignore[arg-type]
    app = web.Application(middlewares=[client_address_middleware(resolver)])
    app.router.add_get("/", echo_address)
    return await aiohttp_client(app)


async def address(client: Any, **headers: str) -> str:
    resp = await client.get("/", headers=headers)
    return str(await resp.text())


@pytest.mark.parametrize(("trusted", "xff", "expected"), [
    ([], "203.0.113.9", "127.0.0.1"),                        # trust nobody: header ignored
    (["10.0.0.0/8"], "203.0.113.9", "127.0.0.1"),            # the peer is not a trusted proxy
    (["127.0.0.1"], "203.0.113.9", "203.0.113.9"),
    (["127.0.0.0/8"], "1.1.1.1, 203.0.113.9", "203.0.113.9"),  # the client's own entry: ignored
    (["127.0.0.1", "10.0.0.0/8"], "198.51.100.7, 10.1.2.3", "198.51.100.7"),  # two routers
    (["127.0.0.1", "10.0.0.0/8"], "10.9.9.9, 198.51.100.7, 10.1.2.3", "198.51.100.7"),
    (["127.0.0.1"], "[2001:db8::5]:4711", "2001:db8::5"),
    (["127.0.0.1"], "203.0.113.9:5555", "203.0.113.9"),
    (["127.0.0.1"], "::ffff:203.0.113.9", "203.0.113.9"),
    (["127.0.0.1", "10.0.0.0/8"], "10.0.0.1", "10.0.0.1"),  # all hops trusted: the first one
])
async def test_x_forwarded_for(aiohttp_client: Any, trusted: list[str], xff: str,
                               expected: str) -> None:
    client = await client_for(aiohttp_client, trusted)
    assert await address(client, **{"X-Forwarded-For": xff}) == expected


async def test_no_header_behind_a_trusted_proxy_is_the_proxy(aiohttp_client: Any) -> None:
    client = await client_for(aiohttp_client, ["127.0.0.1"])
    assert await address(client) == "127.0.0.1"


async def test_forwarded_header_when_configured(aiohttp_client: Any) -> None:
    client = await client_for(aiohttp_client, ["127.0.0.1"], "forwarded")
    assert await address(client, Forwarded='for=192.0.2.60;proto=http, for="[2001:db8::17]"'
                         ) == "2001:db8::17"
    # the other header is a client's invention when the proxy maintains Forwarded
    assert await address(client, **{"X-Forwarded-For": "203.0.113.9"}) == "127.0.0.1"


async def test_x_forwarded_for_proxy_ignores_a_forwarded_header(aiohttp_client: Any) -> None:
    client = await client_for(aiohttp_client, ["127.0.0.1"])
    assert await address(client, Forwarded="for=192.0.2.60") == "127.0.0.1"


@pytest.mark.parametrize(("raw", "parsed"), [
    ('["10.0.0.0/8", "127.0.0.1"]', ["10.0.0.0/8", "127.0.0.1"]),
    ("10.0.0.0/8, 127.0.0.1", ["10.0.0.0/8", "127.0.0.1"]),
    ("", []),
])
def test_setting_from_the_environment(raw: str, parsed: list[str]) -> None:
    settings = Settings.from_env({"TASKPROC_TRUSTED_PROXIES": raw})
    assert settings.trusted_proxies == parsed


def test_a_typo_in_the_setting_fails_at_start() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.300"):
        Settings.from_env({"TASKPROC_TRUSTED_PROXIES": "10.0.0.300"})
