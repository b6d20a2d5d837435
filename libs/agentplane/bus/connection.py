"""NATS connections with safe defaults: never give up reconnecting, notice dead links fast."""

from __future__ import annotations

import logging
from typing import Any

from faststream.nats import NatsBroker
from faststream.nats.security import NatsUserPassword
from nats.aio.client import Client

from agentplane.nats_connect import connect_verified

log = logging.getLogger("agentplane.bus")

# nats-py gives up after about two minutes and pings every two minutes by default.
SAFE_OPTIONS: dict[str, Any] = {
    "allow_reconnect": True,
    "max_reconnect_attempts": -1,
    "reconnect_time_wait": 1,
    "ping_interval": 10,
    "max_outstanding_pings": 3,
}


async def _on_error(exc: Exception) -> None:
    log.warning("nats connection error: %s", exc)


def servers(url: str) -> list[str]:
    """`NATS_URL` may list a cluster's servers separated by commas."""
    return [part.strip() for part in url.split(",") if part.strip()]


async def connect(
    url: str, name: str, *, user: str | None = None, password: str | None = None, **kwargs: Any
) -> Client:
    """A plain nats-py client (for request/reply callers such as the gateway)."""
    return await connect_verified(
        servers(url),
        name=name,
        user=user,
        password=password,
        error_cb=_on_error,
        **{**SAFE_OPTIONS, **kwargs},
    )


def make_broker(
    url: str, name: str, *, user: str | None = None, password: str | None = None, **kwargs: Any
) -> NatsBroker:
    """A FastStream broker for a service, with the same safe connection defaults."""
    security = NatsUserPassword(user, password) if user and password else None
    return NatsBroker(
        servers(url),
        name=name,
        security=security,
        error_cb=_on_error,
        **SAFE_OPTIONS,
        **kwargs,
    )
