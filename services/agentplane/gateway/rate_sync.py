"""Gateway replicas tell each other what they admitted, so a limit holds across all of them.

Each replica decides from its own moving windows (no round trip per request). What it admits
is batched per key and published on `ap.gateway.rate.hits` at most `interval` seconds later;
every other replica records the batch in its windows. So N replicas together admit a limit
plus at most what the others admitted in the last `interval` (plus NATS latency) that this one
has not heard of yet: for a client alternating between two replicas at full speed, a few
requests; in the worst case (a spike hitting every replica in the same instant) each other
replica's burst.

Plain NATS publish, no stream: a replica that starts (or reconnects) counts from then on, so
for at most one minute after that it may admit what the others already spent. A replica whose
publish fails keeps limiting by its own count (the limit then holds per replica).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from pydantic import ValidationError

from agentplane.contracts.rate_hits import RateHits
from agentplane.contracts.subjects import Gateway
from agentplane.gateway.rate_windows import MovingWindows

log = logging.getLogger("agentplane.gateway.rate")


class RateSync:
    """Publishes this replica's admissions in batches; records the other replicas'."""

    def __init__(self, windows: MovingWindows, interval: float) -> None:
        self.windows = windows
        self.interval = interval
        self.origin = uuid.uuid4().hex
        self._nc: Client | None = None
        self._subscription: Subscription | None = None
        self._pending: dict[str, int] = {}
        self._pending_since = 0.0
        self._flush: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, nc: Client) -> None:
        self._nc = nc
        self._subscription = await nc.subscribe(Gateway.RATE_HITS, cb=self._on_hits)

    async def stop(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        await self._publish()
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    def admitted(self, key: str) -> None:
        """One request of `key` was admitted here; the others hear of it within `interval`."""
        if self._nc is None:
            return
        if not self._pending:
            self._pending_since = time.time()
        self._pending[key] = self._pending.get(key, 0) + 1
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(self.interval, self._spawn)

    def _spawn(self) -> None:
        self._flush = None
        task = asyncio.ensure_future(self._publish())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self) -> None:
        if not self._pending or self._nc is None:
            return
        batch = RateHits(origin=self.origin, hits=self._pending, at=self._pending_since)
        self._pending = {}
        try:
            await self._nc.publish(Gateway.RATE_HITS, batch.model_dump_json().encode())
        except NatsError as exc:
            # The others undercount this batch; this replica still counted it itself.
            log.warning("rate limit batch not shared: %s", exc)

    async def _on_hits(self, msg: Msg) -> None:
        try:
            batch = RateHits.model_validate_json(msg.data)
        except ValidationError:
            log.warning("malformed rate limit batch ignored")
            return
        if batch.origin == self.origin:
            return
        now = time.time()
        # Another host's clock may be off: trusted within a second of ours.
        at = min(now, max(batch.at, now - 1.0))
        for key, count in batch.hits.items():
            self.windows.record(key, count, at)
