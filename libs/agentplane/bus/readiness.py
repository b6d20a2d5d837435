"""Waiting until subscribers really answer, which a flush alone does not guarantee."""

from __future__ import annotations

import asyncio
import time

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout


async def wait_until_answering(nc: Client, subject: str, timeout: float = 10.0) -> None:
    """Ping `subject` until something replies; raise TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await nc.request(subject, b"{}", timeout=0.5)
            return
        except (NoRespondersError, NatsTimeout):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"nothing answers on {subject}") from None
            await asyncio.sleep(0.05)
