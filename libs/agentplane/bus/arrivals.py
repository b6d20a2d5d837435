"""What a consumer's subscription delivered, taken in batches, and each delivery's stream
sequence read without nats-py's per-message metadata parsing."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator

from nats.aio.msg import Msg


class Arrivals:
    """Messages a subscription's callback handed over, taken by the consumer in batches.

    Unbounded here, bounded by the server: a durable push consumer sends no more than its
    max_ack_pending unacknowledged messages, and these are acknowledged once processed.
    """

    def __init__(self) -> None:
        self._msgs: deque[Msg] = deque()
        self._ready = asyncio.Event()
        self._readers = 0
        self._hurry = asyncio.Event()

    def __len__(self) -> int:
        return len(self._msgs)

    async def put(self, msg: Msg) -> None:
        self._msgs.append(msg)
        self._ready.set()

    async def wait(self) -> None:
        """Until at least one message is there."""
        await self._ready.wait()

    async def linger(self, seconds: float) -> None:
        """Wait up to `seconds` for more to arrive, unless a reader waits for what is here."""
        if self._readers:
            return
        self._hurry.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._hurry.wait()

    @contextlib.contextmanager
    def reader_waiting(self) -> Iterator[None]:
        """While a reader waits for the handler to catch up (read-after-write), batches go
        without lingering, and one lingering now goes at once: the reader waits for what
        was sent, not for more events to arrive."""
        self._readers += 1
        self._hurry.set()
        try:
            yield
        finally:
            self._readers -= 1

    def clear(self) -> None:
        """Forget what an earlier subscription handed over (unacknowledged: sent again)."""
        self._msgs.clear()
        self._ready.clear()

    def take(self, limit: int) -> list[Msg]:
        """Up to `limit` messages in arrival order (at least one after `wait`)."""
        msgs = self._msgs
        taken = [msgs.popleft() for _ in range(min(limit, len(msgs)))]
        if not msgs:
            self._ready.clear()
        return taken


def stream_sequence(msg: Msg) -> int:
    """The stream sequence of a JetStream delivery, read from its ack subject.

    `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.…` (9 tokens) or, with a domain
    and account hash, `$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<stream seq>.…`
    (12); nats-py's `metadata` parses all of it into objects for every message.
    """
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9:
        return int(tokens[5])
    if len(tokens) == 12:
        return int(tokens[7])
    return int(msg.metadata.sequence.stream)
