"""What the edge hears on the bus: catalog changes (reload the routes at once) and agents that
left (end their streams now rather than at the next failed write)."""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import ValidationError

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.subjects import Events
from agentplane.contracts.tunnels import Tunnels
from agentplane.edge.streams import ActiveStreams

log = logging.getLogger("agentplane.edge.events")


async def subscribe_events(nc: Client, reload: asyncio.Event, streams: ActiveStreams) -> None:
    """Core subscriptions (no durable consumer): the edge's state is rebuilt from the routes
    anyway, so a missed event costs at most one refresh period."""

    async def on_event(msg: Msg) -> None:
        try:
            event = IntegrationEvent.model_validate_json(msg.data)
        except ValidationError:
            return
        if event.type.startswith(Tunnels.ROUTE_EVENT_PREFIX):
            reload.set()
        elif event.type in Tunnels.AGENT_GONE_EVENTS and event.agent_id:
            ended = streams.abort_agent(event.agent_id)
            if ended:
                log.info("agent %s left (%s): %d streams ended", event.agent_id, event.type, ended)

    prefix = Tunnels.ROUTE_EVENT_PREFIX.rstrip(".")
    await nc.subscribe(Events.subject("*", f"{prefix}.>"), cb=on_event)
    for topic in Tunnels.AGENT_GONE_EVENTS:
        await nc.subscribe(Events.subject("*", topic), cb=on_event)
