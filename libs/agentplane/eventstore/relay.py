"""Outbox relay: publishes every recorded event to JetStream exactly once per notification.

The event store is the outbox. Each notification is published as an integration event with
`Nats-Msg-Id = <app>:<notification id>`, so JetStream drops a re-publish after a crash. The
relay's position is recovered as the larger of its stored position and the last id found in
the stream, which keeps it correct after `kill -9` even beyond the dedup window.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from eventsourcing.application import Application
from nats.js import JetStreamContext
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
        self.position = 0
        self.published_total = 0
        self._wake = asyncio.Event()
        self._advanced = asyncio.Condition()

    async def start(self) -> None:
        await ensure_events_stream(self.js)
        stored = await asyncio.to_thread(self.positions.position, self.tracking_name)
        self.position = max(stored, await self._last_published_position())

    async def _last_published_position(self) -> int:
        try:
            msg = await self.js.get_last_msg(
                events_stream_config().name, Events.of_app(self.app_name)
            )
        except NotFoundError:
            return 0
        msg_id = (msg.headers or {}).get(MSG_ID, "")
        app, _, position = msg_id.partition(":")
        return int(position) if app == self.app_name and position.isdigit() else 0

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
                    # After an outage longer than the dedup window, ask the stream what it
                    # already holds instead of re-publishing it.
                    await self.start()
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
        # One at a time, each acknowledged before the next is sent: the stream then never
        # holds an event without every earlier one, so recovery from its last message is
        # exact. (Pipelining could let a message lost in a reconnect be overtaken.)
        for notification in notifications:
            event = self.app.mapper.to_domain_event(notification)
            integration = to_integration(self.app_name, notification.id, event)
            await self.js.publish(
                Events.subject(self.app_name, integration.type),
                integration.model_dump_json().encode(),
                timeout=self.ack_timeout,
                headers={MSG_ID: integration.id},
            )
        last = notifications[-1].id
        await asyncio.to_thread(self._store_position, last)
        async with self._advanced:
            self.position = last
            self.published_total += len(notifications)
            self._advanced.notify_all()
        return len(notifications)

    def _store_position(self, position: int) -> None:
        with self.positions.transaction() as tx:
            tx.set_position(self.tracking_name, position)
