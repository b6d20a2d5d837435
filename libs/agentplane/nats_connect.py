"""A NATS connect for every client (services, agents, tools): no faststream, no settings."""

from __future__ import annotations

from typing import Any

import nats
import nats.errors
from nats.aio.client import Client


class HandshakeIncomplete(nats.errors.Error):
    """The server pinged before its PONG; nats-py then hands back a client that never sends."""


async def connect_verified(servers: str | list[str], **options: Any) -> Client:
    """`nats.connect` that refuses a half-open client.

    nats-py (≤ 2.16, nats.py PR #975 open) reads one line after CONNECT+PING: when the server's
    RTT PING comes first — it does after 2 s, e.g. while an auth callout is queued in a
    connection storm — `connect()` returns with the status stuck at CONNECTING, and every
    publish waits in its buffer forever. Such a client is closed and the connect fails, so the
    caller's retry gets a working one.
    """
    nc = await nats.connect(servers, **options)
    if not nc.is_connected:
        await nc.close()
        raise HandshakeIncomplete("nats: the server answered CONNECT with PING before PONG")
    return nc
