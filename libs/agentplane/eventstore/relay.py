"""Outbox relay: publishes every recorded event to JetStream exactly once per notification.

The event store is the outbox. Each notification is published as an integration event with
`Nats-Msg-Id = <app>:<notification id>`, so JetStream drops a re-publish within its dedup
window. A batch is pipelined (all sent, then all acks awaited); the relay then stores its
position together with the stream sequence of the last ack. On start it reads what the
stream holds of this app after that sequence and advances only over ids that are present
without a gap, so a crash at any point neither republishes nor skips, whatever the time
since the crash.

Fast path: a writer in this process hands its recordings over (`offer`) right after its
commit, so the relay publishes them without reading back and decoding what was just
written. Only a contiguous continuation of the published position is taken from there;
anything else (other writers, gaps, a full buffer) is read from the log as before. The
running relay stores its position at most every `store_every` seconds and when idle — the
recovery above makes a late position cost a stream scan at start, never a duplicate.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Recording
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from agentplane.contracts.streams import events_stream_config
from agentplane.contracts.subjects import Events
from agentplane.eventstore.integration import Translator, integration_json
from agentplane.eventstore.publish_acks import PublishAcks
from agentplane.eventstore.views import ViewStore

log = logging.getLogger("agentplane.relay")

MSG_ID = "Nats-Msg-Id"

# Recordings handed over but not yet published; beyond this the relay reads the log instead.
MAX_OFFERED = 20_000


async def ensure_events_stream(js: JetStreamContext) -> None:
    """Create the integration-event stream, or leave an existing one as it is."""
    config = events_stream_config()
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        try:
            await js.add_stream(config)
        except Exception:  # another service created it at the same moment
            await js.stream_info(config.name)


class OutboxRelay:
    """Relays one application's notification log to the AP_EVENTS stream."""

    def __init__(
        self,
        app: Application[Any],
        js: JetStreamContext,
        positions: ViewStore,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.25,
        ack_timeout: float = 5.0,
        store_every: float = 1.0,
    ) -> None:
        self.app = app
        self.app_name = app.name.lower()
        self.translator: Translator | None = getattr(app, "translator", None)
        self.js = js
        # nats-py 2.16 (pinned) exposes a context's connection only as `_nc`.
        self._nc = js._nc
        self._acks = PublishAcks(self._nc)
        self.positions = positions
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.ack_timeout = ack_timeout
        self.store_every = store_every
        self.tracking_name = f"relay:{self.app_name}"
        self.sequence_name = f"relay-seq:{self.app_name}"
        self.sequence = 0
        self.position = 0
        self.published_total = 0
        self.offered_total = 0
        self._wake = asyncio.Event()
        # (position, tiebreak, future) of callers waiting until `position` is published.
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._tiebreak = itertools.count()
        self._offered: deque[tuple[int, DomainEventProtocol[Any]]] = deque()
        # The highest notification id ever offered: a waiter for no more than this needs no
        # wake-up (the offer woke the relay), so a storm of commands does not make the relay
        # read the log once per command only to find what it already has.
        self._offered_through = 0
        self._last_batch_offered = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stored = (0, 0)
        self._stored_at = 0.0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await ensure_events_stream(self.js)
        await self._acks.start()
        stored = await asyncio.to_thread(self.positions.position, self.tracking_name)
        stored_seq = await asyncio.to_thread(self.positions.position, self.sequence_name)
        self._stored = (stored, stored_seq)
        self.position, self.sequence = await self._recover(stored, stored_seq)

    async def _recover(self, position: int, sequence: int) -> tuple[int, int]:
        """Advance over this app's ids found in the stream after `sequence`, up to a gap."""
        stream = events_stream_config().name
        info = await self.js.stream_info(stream)
        if info.state.last_seq <= sequence:
            return position, sequence
        found: dict[int, int] = {}
        sub = await self.js.subscribe(
            Events.of_app(self.app_name),
            stream=stream,
            ordered_consumer=True,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=sequence + 1
            ),
        )
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=0.5)
                except NatsTimeoutError:
                    break
                app, _, pos = (msg.headers or {}).get(MSG_ID, "").partition(":")
                if app == self.app_name and pos.isdigit():
                    found[int(pos)] = msg.metadata.sequence.stream
                if msg.metadata.num_pending == 0:
                    break
        finally:
            await sub.unsubscribe()
        while position + 1 in found:
            position += 1
            sequence = found[position]
        return position, sequence

    def wake(self) -> None:
        """Tell the relay that new events were recorded."""
        self._wake.set()

    def offer(self, recordings: Sequence[Recording[Any]]) -> None:
        """Hand over what a commit just recorded (any thread); the relay publishes it from
        memory when it continues the published sequence, and reads the log otherwise."""
        if self._loop is None or not recordings:
            return
        entries = [(r.notification.id, r.domain_event) for r in recordings]
        # Set here, not when the loop accepts them: a waiter that asks right after the offer
        # (before the loop ran `_accept`) must not wake the relay into reading the log.
        self._offered_through = max(self._offered_through, entries[-1][0])
        self._loop.call_soon_threadsafe(self._accept, entries)

    def _accept(self, entries: list[tuple[int, DomainEventProtocol[Any]]]) -> None:
        if len(self._offered) + len(entries) > MAX_OFFERED:
            self._offered.clear()  # the relay is behind: the log has it all
        self._offered.extend(entries)
        self.offered_total += len(entries)
        self._wake.set()

    async def wait_published(self, position: int, timeout: float = 5.0) -> bool:
        """Wait until every notification up to `position` is in the stream."""
        if self.position >= position:
            return True
        if position > self._offered_through:
            self.wake()  # written by another writer (or not offered): the log has it
        waiter = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (position, next(self._tiebreak), waiter))
        try:  # asyncio.timeout, not wait_for: no wrapper future and callbacks per waiter
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            return False
        return True

    def _advance(self, position: int, sequence: int, published: int) -> None:
        self.position = position
        self.sequence = sequence
        self.published_total += published
        while self._waiters and self._waiters[0][0] <= position:
            waiter = heapq.heappop(self._waiters)[2]
            if not waiter.done():
                waiter.set_result(None)

    async def run(self) -> None:
        """Publish forever; survive NATS outages by retrying from the stored position."""
        read_log = True
        while True:
            # Cleared before looking: whatever arrives while this pass runs wakes the next.
            self._wake.clear()
            try:
                published = await self.publish_pending(store=False, read_log=read_log)
                if published == 0 or time.monotonic() - self._stored_at >= self.store_every:
                    await self._store_if_moved()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("relay %s: publish failed (%s); retrying", self.app_name, exc)
                await asyncio.sleep(1.0)
                try:
                    # Ask the stream what it already holds instead of re-publishing it.
                    self.position, self.sequence = await self._recover(self.position, self.sequence)
                except Exception:
                    pass
                continue
            # After a batch of offers with nothing more offered and nobody asking, the log
            # holds nothing new from this process: wait for a wake-up or the next poll
            # instead of reading it at once.
            read_log = not (
                published and self._last_batch_offered and not self._offered
                and not self._wake.is_set()
            )  # fmt: skip
            if published == 0 or not read_log:
                if self._offered and self._offered[-1][0] > self.position:
                    continue  # offered while the last batch was out
                try:  # not wait_for: that wraps the wait in a task of its own each time
                    async with asyncio.timeout(self.poll_seconds):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                read_log = True  # woken (or the poll came): other writers may have written

    def _take_offered(self) -> list[tuple[int, DomainEventProtocol[Any]]]:
        """The offered events that continue the published position without a gap."""
        offered = self._offered
        while offered and offered[0][0] <= self.position:
            offered.popleft()
        taken: list[tuple[int, DomainEventProtocol[Any]]] = []
        expected = self.position + 1
        while offered and offered[0][0] == expected and len(taken) < self.batch_size:
            taken.append(offered.popleft())
            expected += 1
        return taken

    async def _read_log(self) -> list[tuple[int, DomainEventProtocol[Any]]]:
        notifications = await asyncio.to_thread(
            self.app.recorder.select_notifications,
            self.position,
            self.batch_size,
            inclusive_of_start=False,
        )
        return [(n.id, self.app.mapper.to_domain_event(n)) for n in notifications]

    async def publish_pending(self, store: bool = True, read_log: bool = True) -> int:
        """Publish the next batch after the current position; return how many were sent.

        `store` also records the new position at once (the background `run` does it lazily);
        without `read_log` only offered events are taken.
        """
        batch = self._take_offered()
        self._last_batch_offered = bool(batch)
        if not batch and read_log:
            batch = await self._read_log()
        if not batch:
            return 0
        messages = []
        for position, event in batch:
            kind, msg_id, body = integration_json(self.app_name, position, event, self.translator)
            messages.append((Events.subject(self.app_name, kind), body, {MSG_ID: msg_id}))
        # Pipelined: every message is sent, then the batch waits once for all their acks.
        sequence = await self._acks.publish(messages, self.ack_timeout)
        last = batch[-1][0]
        if store:
            await asyncio.to_thread(self._store_position, last, sequence)
            self._stored = (last, sequence)
            self._stored_at = time.monotonic()
        self._advance(last, sequence, len(batch))
        return len(batch)

    async def _store_if_moved(self) -> None:
        if self._stored == (self.position, self.sequence):
            return
        position, sequence = self.position, self.sequence
        await asyncio.to_thread(self._store_position, position, sequence)
        self._stored = (position, sequence)
        self._stored_at = time.monotonic()

    def _store_position(self, position: int, sequence: int) -> None:
        with self.positions.transaction() as tx:
            tx.set_position(self.tracking_name, position)
            tx.set_position(self.sequence_name, sequence)
