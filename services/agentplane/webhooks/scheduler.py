"""The delivery loop: in order per (webhook, agent), each pending delivery when it is due.

Only the oldest pending delivery of a queue (by the transition's stream position) is tried, so
a receiver sees an agent's events in the order they happened even across retries; queues of
other agents and webhooks go on meanwhile. The queues are memory over the store: loaded from
the pending view at start, fed by the fan-out, and every attempt's outcome is recorded before
the queue moves on, so a restart resumes exactly where the store says.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from agentplane.webhooks.deliveries import Deliveries, Pending
from agentplane.webhooks.sender import Sender

log = logging.getLogger("agentplane.webhooks.scheduler")

QueueKey = tuple[str, str]  # (webhook id, agent id)
IDLE_SECONDS = 5.0
# After an unexpected error (the store busy, say) the same delivery is tried again this late.
ERROR_RETRY_SECONDS = 5.0


class Scheduler:
    """Pending deliveries by queue; at most `concurrency` HTTP attempts at once."""

    def __init__(self, deliveries: Deliveries, sender: Sender, concurrency: int = 32) -> None:
        self.deliveries = deliveries
        self.sender = sender
        self.queues: dict[QueueKey, list[Pending]] = {}
        self._busy: set[QueueKey] = set()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    async def load(self) -> int:
        items = await asyncio.to_thread(self.deliveries.pending)
        self.add(items)
        return len(items)

    def add(self, items: list[Pending]) -> None:
        for item in items:
            queue = self.queues.setdefault((item.webhook_id, item.agent_id), [])
            if all(p.delivery_id != item.delivery_id for p in queue):
                queue.append(item)
                queue.sort(key=lambda p: (p.sequence, p.delivery_id))
        if items:
            self._wake.set()

    def forget(self, delivery_ids: list[str]) -> None:
        gone = set(delivery_ids)
        for key, queue in list(self.queues.items()):
            queue[:] = [p for p in queue if p.delivery_id not in gone]
            if not queue and key not in self._busy:
                del self.queues[key]

    def _replace(self, key: QueueKey, done: Pending, after: Pending | None) -> None:
        queue = self.queues.get(key, [])
        queue[:] = [p for p in queue if p.delivery_id != done.delivery_id]
        if after is not None:
            queue.insert(0, after)
            queue.sort(key=lambda p: (p.sequence, p.delivery_id))
        if not queue:
            self.queues.pop(key, None)

    async def run(self) -> None:
        while True:
            now = datetime.now(UTC)
            wait = IDLE_SECONDS
            for key, queue in list(self.queues.items()):
                if key in self._busy or not queue:
                    continue
                head = queue[0]
                if head.due <= now:
                    self._busy.add(key)
                    task = asyncio.create_task(self._attempt(key, head))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                else:
                    wait = min(wait, (head.due - now).total_seconds())
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), max(wait, 0.01))
            except TimeoutError:
                pass

    async def _attempt(self, key: QueueKey, head: Pending) -> None:
        try:
            async with self._slots:
                target = await asyncio.to_thread(
                    self.deliveries.target, head.delivery_id, head.webhook_id
                )
                if target is None:
                    self._replace(key, head, None)
                    return
                outcome = await self.sender.send(
                    target.url, target.secret, head.delivery_id, target.payload
                )
                after = await asyncio.to_thread(
                    self.deliveries.record, head.delivery_id, outcome.status_code, outcome.error
                )
                self._replace(key, head, after)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery %s: attempt not recorded; trying again", head.delivery_id)
            later = datetime.now(UTC) + timedelta(seconds=ERROR_RETRY_SECONDS)
            self._replace(key, head, replace(head, due=later))
        finally:
            self._busy.discard(key)
            self._wake.set()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
