"""SSRF guard: webhook targets on private, loopback, link-local or other non-public addresses
are refused unless AGENTPLANE_WEBHOOKS_ALLOW_PRIVATE=true.

Checked twice: when a webhook is created (a literal address, or a name that resolves to one,
is a 400) and on every connection (the HTTP client resolves names only through
`GuardedResolver`, which drops refused addresses, so a name re-pointed after the check, DNS
rebinding included, still cannot reach the inside). Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from agentplane.contracts.errors import invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
PRIVATE_REFUSED = (
    "url must point to a public address: private, loopback and link-local targets are refused"
)


class TargetRefused(Exception):
    """The target resolves only to addresses webhooks may not reach."""


def is_public(address: Address) -> bool:
    """Globally routable unicast: not private, loopback, link-local, CGNAT, reserved, …"""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def parse_target(url: str) -> tuple[str, str]:
    """(scheme, host) of a valid webhook URL; 400 naming what is wrong otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise invalid("url is not a valid URL", field="url") from None
    if parts.scheme not in ("http", "https"):
        raise invalid("url must be an http or https URL", field="url")
    if not parts.hostname:
        raise invalid("url must name a host", field="url")
    if parts.username is not None or parts.password is not None:
        # Credentials in the URL would show in every list of webhooks.
        raise invalid("url must not carry credentials (user:password@)", field="url")
    if port == 0:
        raise invalid("url must not name port 0", field="url")
    return parts.scheme, parts.hostname


async def check_target(url: str, allow_private: bool) -> None:
    """400 unless `url` is a webhook target this installation may call."""
    _, host = parse_target(url)
    if allow_private:
        return
    literal = _literal(host)
    if literal is not None:
        if not is_public(literal):
            raise invalid(PRIVATE_REFUSED, field="url")
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        # Not resolvable now: it may be later; every delivery checks again.
        return
    addresses = {_literal(str(info[4][0])) for info in infos}
    if any(a is not None and not is_public(a) for a in addresses):
        raise invalid(PRIVATE_REFUSED, field="url")


def refuse_literal(host: str, allow_private: bool) -> None:
    """Before connecting: the HTTP client does not resolve literal addresses, so check them."""
    literal = _literal(host)
    if literal is not None and not allow_private and not is_public(literal):
        raise TargetRefused(f"{host} is not a public address")


class GuardedResolver(AbstractResolver):
    """Resolves like the default resolver, then keeps only addresses webhooks may reach."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results: list[Any] = await self._inner.resolve(host, port, family)
        if self.allow_private:
            return results
        allowed = [r for r in results if (a := _literal(r["host"])) is not None and is_public(a)]
        if not allowed:
            raise TargetRefused(f"{host} resolves only to non-public addresses")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
