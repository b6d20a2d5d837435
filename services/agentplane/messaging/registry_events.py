"""What the messaging service does with the registry's integration events: an agent that was
deleted or terminated will never connect again, so its queued commands and its undelivered
messages end as cancelled, and messages to it are refused from then on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from pydantic import ValidationError

from agentplane.bus.consumers import durable_subscriber
from agentplane.bus.host import ServiceHost
from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.events.registry import AgentDeleted, AgentTerminated
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events
from agentplane.eventstore.relay import OutboxRelay
from agentplane.messaging.application import Commands
from agentplane.messaging.known_agents import KnownAgents
from agentplane.messaging.messages import Messages

log = logging.getLogger("agentplane.messaging.registry_events")

CONSUMER = "messaging-registry-events"
# The registry's event types after which an agent never comes back.
AGENT_GONE = frozenset({AgentDeleted.TYPE, AgentTerminated.TYPE})


def subscribe_registry_events(
    host: ServiceHost,
    commands: Commands,
    relay: OutboxRelay,
    known: KnownAgents,
    messages: Messages,
    also: Sequence[Callable[[str], Awaitable[object]]] = (),
) -> None:
    """`also`: more reactions to an agent that is gone (e.g. `cancel_tasks_of_agent`)."""

    async def on_event(body: bytes, sequence: int) -> None:
        try:
            event = IntegrationEvent.model_validate_json(body)
        except ValidationError:
            log.warning("registry event %d is not an integration event; skipped", sequence)
            return
        if event.type not in AGENT_GONE or event.agent_id is None:
            return
        known.forget(event.agent_id)
        # Idempotent: a redelivery finds nothing queued any more.
        position = await asyncio.to_thread(commands.cancel_queued_of, event.agent_id)
        position = max(
            position, await asyncio.to_thread(messages.cancel_undelivered_of, event.agent_id)
        )
        if position:
            relay.wake()
            log.info("what waited for agent %s is cancelled (%s)", event.agent_id, event.type)
        for react in also:
            await react(event.agent_id)

    durable_subscriber(
        host,
        stream=EVENTS_STREAM,
        # Only these are sent (filtered by the server): registrations and the like, most of
        # the traffic, never reach this service.
        subject=sorted(Events.subject("registry", t) for t in AGENT_GONE),
        durable=CONSUMER,
        handler=on_event,
    )
