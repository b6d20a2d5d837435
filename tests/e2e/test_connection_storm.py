"""More clients at once than uvicorn's old bound (4,096 connections, then 503 for everyone):
every request is answered by the route, none is refused for the number of open connections."""

from __future__ import annotations

import asyncio
import resource
from urllib.parse import urlsplit

from agentplane.testing.system import RunningSystem

CLIENTS = 4200


async def _storm(port: int) -> list[bytes]:
    opened = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", port) for _ in range(CLIENTS))
    )
    try:
        # Every connection is open before any request is sent: the gateway holds them all.
        request = b"GET /v1/no-such-route HTTP/1.1\r\nHost: gateway\r\n\r\n"
        for _, writer in opened:
            writer.write(request)

        async def status(reader: asyncio.StreamReader) -> bytes:
            head = await reader.readuntil(b"\r\n\r\n")
            return head.split(b" ", 2)[1]

        return await asyncio.wait_for(asyncio.gather(*(status(r) for r, _ in opened)), 120)
    finally:
        for _, writer in opened:
            writer.close()


def test_more_open_connections_than_the_old_bound_are_all_served(system: RunningSystem) -> None:
    # This process holds every client socket: up to the hard limit, as the gateway does.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    statuses = asyncio.run(_storm(urlsplit(system.base_url).port or 80))
    counts = {s.decode(): statuses.count(s) for s in set(statuses)}
    assert counts == {"404": CLIENTS}, counts
