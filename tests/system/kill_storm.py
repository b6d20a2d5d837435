"""A storm of concurrent HTTP requests with one service killed (-9) part-way through: what
the kill tests share."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

import httpx

from agentplane.testing.system import RunningSystem

# One request of the storm: `post(client, n)` for its number n.
Post = Callable[[httpx.AsyncClient, int], Awaitable[None]]


async def kill_during_storm(
    system: RunningSystem,
    service: str,
    requests: int,
    connections: int,
    post: Post,
    kill_when: asyncio.Event,
) -> None:
    """`post(client, n)` for every n in range(requests), at most `connections` at a time;
    kill -9 `service` once `kill_when` is set; return once every request ended and the
    service is back. Waiting requests wait on a semaphore, not in httpx's pool, whose waiting
    requests are rescanned on every change (seconds of the test's own CPU for 1,000)."""
    gate = asyncio.Semaphore(connections)
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=system.base_url, timeout=60, limits=limits) as client:

        async def gated(n: int) -> None:
            async with gate:
                await post(client, n)

        tasks = [asyncio.create_task(gated(n)) for n in range(requests)]
        await asyncio.wait_for(kill_when.wait(), 120)
        old_pid = system.signal_service(service, signal.SIGKILL)
        await asyncio.gather(*tasks)
        await asyncio.to_thread(system.wait_restarted, service, old_pid)
