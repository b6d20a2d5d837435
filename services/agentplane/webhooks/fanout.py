"""The fan-out: a durable JetStream consumer of `AgentTransitioned` events (AP_EVENTS).

Each batch becomes deliveries in the store before it is acknowledged, so a transition is
delivered at least once whatever crashes; recording is idempotent (delivery ids derive from
the subscription and the transition), so a redelivered batch adds nothing. Unlimited
redeliveries: while the store is down the batch waits, it is never dropped. A message that is
not a transition at all is terminated (logged), never retried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.events.event_types import EVENT_TYPES
from agentplane.contracts.events.lifecycle import AgentTransitioned
from agentplane.contracts.lifecycle_events import AGENT_TRANSITIONED
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events
from agentplane.eventstore.relay import ensure_events_stream
from agentplane.webhooks.deliveries import Deliveries
from agentplane.webhooks.scheduler import Scheduler

log = logging.getLogger("agentplane.webhooks.fanout")

FANOUT_CONSUMER = "webhooks-fanout"
SUBJECT = Events.subject("lifecycle", AGENT_TRANSITIONED)
BATCH = 100
REBIND_AFTER_IDLE_FETCHES = 12


def _transition(raw: bytes) -> AgentTransitioned | None:
    try:
        return EVENT_TYPES.parse_as(IntegrationEvent.model_validate_json(raw), AgentTransitioned)
    except ValueError:  # not an integration event, or a version this process cannot read
        return None


async def fan_out_forever(nc: Client, deliveries: Deliveries, scheduler: Scheduler) -> None:
    js = nc.jetstream()
    while True:
        try:
            await ensure_events_stream(js)
            sub = await js.pull_subscribe(
                SUBJECT,
                durable=FANOUT_CONSUMER,
                stream=EVENTS_STREAM,
                config=ConsumerConfig(
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_wait=60.0,
                    max_deliver=-1,
                ),
            )
            try:
                idle = 0
                # A pull subscription can go quiet for good after a NATS restart: bind it afresh
                # after a minute without messages.
                while idle < REBIND_AFTER_IDLE_FETCHES:
                    try:
                        msgs = await sub.fetch(BATCH, timeout=5.0)
                    except TimeoutError:
                        # nats-py raises its own timeout, or a bare asyncio one when the
                        # fetch's deadline passed between two pull requests: both are idle.
                        idle += 1
                        continue
                    idle = 0
                    batch = []
                    for msg in msgs:
                        transition = _transition(msg.data)
                        if transition is None:
                            log.error("not an AgentTransitioned event at seq %s; dropped",
                                      msg.metadata.sequence.stream)  # fmt: skip
                            await msg.term()
                            continue
                        batch.append((msg, transition))
                    pending = await asyncio.to_thread(
                        deliveries.schedule, [(t, m.metadata.sequence.stream) for m, t in batch]
                    )
                    scheduler.add(pending)
                    for msg, _ in batch:
                        await msg.ack()
            finally:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A NATS restart or a store error: the unacknowledged batch comes again.
            log.warning("webhook fan-out interrupted (%r); resuming", exc)
            await asyncio.sleep(1.0)
