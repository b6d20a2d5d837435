"""Outbox relay: publishes every recorded event to JetStream exactly once per notification.

The event store is the outbox. Each notification is published as an integration event with
`Nats-Msg-Id = <app>:<notification id>`, so JetStream drops a re-publish within its dedup
window. A batch is pipelined (all sent, then all acks awaited); the relay then stores its
position together with the stream sequence of the last ack. On start it reads what the
stream holds of this app after that sequence and advances only over ids that are present
without a gap, so a crash at any point neither republishes nor skips, whatever the time
since the crash.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from eventsourcing.application import Application
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from agentplane.contracts.streams import events_stream_config
from agentplane.contracts.subjects import Events
from agentplane.eventstore.integration import to_integration
from agentplane.eventstore.views import ViewStore

log = logging.getLogger("agentplane.relay")

MSG_ID = "Nats-Msg-Id"


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
    ) -> None:
        self.app = app
        self.app_name = app.name.lower()
        self.js = js
        self.positions = positions
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.ack_timeout = ack_timeout
        self.tracking_name = f"relay:{self.app_name}"
        self.sequence_name = f"relay-seq:{self.app_name}"
        self.sequence = 0
        self.position = 0
        self.published_total = 0
        self._wake = asyncio.Event()
        self._advanced = asyncio.Condition()

    async def start(self) -> None:
        await ensure_events_stream(self.js)
        stored = await asyncio.to_thread(self.positions.position, self.tracking_name)
        stored_seq = await asyncio.to_thread(self.positions.position, self.sequence_name)
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

    async def wait_published(self, position: int, timeout: float = 5.0) -> bool:
        """Wait until every notification up to `position` is in the stream."""
        self.wake()
        async with self._advanced:
            try:
                await asyncio.wait_for(
                    self._advanced.wait_for(lambda: self.position >= position), timeout
                )
            except TimeoutError:
                return False
        return True

    async def run(self) -> None:
        """Publish forever; survive NATS outages by retrying from the stored position."""
        while True:
            try:
                published = await self.publish_pending()
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
            if published == 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                except TimeoutError:
                    pass

    async def publish_pending(self) -> int:
        """Publish the next batch after the current position; return how many were sent."""
        notifications = await asyncio.to_thread(
            self.app.recorder.select_notifications,
            self.position,
            self.batch_size,
            inclusive_of_start=False,
        )
        if not notifications:
            return 0
        acks = []
        for notification in notifications:
            event = self.app.mapper.to_domain_event(notification)
            integration = to_integration(self.app_name, notification.id, event)
            acks.append(
                await self.js.publish_async(
                    Events.subject(self.app_name, integration.type),
                    integration.model_dump_json().encode(),
                    headers={MSG_ID: integration.id},
                )
            )
        done = await asyncio.wait_for(asyncio.gather(*acks), self.ack_timeout)
        last = notifications[-1].id
        sequence = max(ack.seq for ack in done)
        await asyncio.to_thread(self._store_position, last, sequence)
        async with self._advanced:
            self.position = last
            self.sequence = sequence
            self.published_total += len(notifications)
            self._advanced.notify_all()
        return len(notifications)

    def _store_position(self, position: int, sequence: int) -> None:
        with self.positions.transaction() as tx:
            tx.set_position(self.tracking_name, position)
            tx.set_position(self.sequence_name, sequence)
