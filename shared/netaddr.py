"""IP addresses and networks as settings and proxies write them (no HTTP here: the dispatcher's
webhook guard and the gateways' client address both use it)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Literal

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ForwardedHeader = Literal["x-forwarded-for", "forwarded"]


def parse_networks(entries: Iterable[str]) -> list[IPNetwork]:
    """IPs and CIDRs (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`); ValueError on a bad one."""
    return [ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip()]


def parse_address(token: str) -> IPAddress | None:
    """An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:443`, `::1`;
    IPv4-mapped IPv6 addresses become IPv4. None if it is not an address."""
    t = token.strip().strip('"')
    if t.startswith("["):
        t = t[1:].partition("]")[0]
    elif t.count(":") == 1:
        t = t.partition(":")[0]
    try:
        addr = ipaddress.ip_address(t)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr
