"""NATS handlers of the lifecycle service."""

from __future__ import annotations

import asyncio

from nats.js import JetStreamContext
from pydantic import BaseModel

from agentplane.bus.consumers import durable_subscriber
from agentplane.bus.handlers import replying
from agentplane.bus.host import ServiceHost
from agentplane.contracts.agent_states import AgentStatesQuery
from agentplane.contracts.audit import AuditQuery
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events
from agentplane.contracts.subjects import Lifecycle as Subjects
from agentplane.lifecycle.application import AuditLogs

AUDIT_CONSUMER = "lifecycle-audit"


def register_handlers(host: ServiceHost, audit: AuditLogs, js: JetStreamContext) -> None:
    async def on_event(body: bytes, sequence: int) -> None:
        await asyncio.to_thread(audit.apply, body, sequence)
        await audit.applied(sequence)

    async def on_events(items: list[tuple[bytes, int]]) -> None:
        # What arrived together is applied together: one thread hop and one transaction.
        await asyncio.to_thread(audit.apply_batch, items)
        await audit.applied(max(sequence for _, sequence in items))

    durable_subscriber(
        host,
        stream=EVENTS_STREAM,
        subject=Events.ALL,
        durable=AUDIT_CONSUMER,
        handler=on_event,
        batch=on_events,
    )

    @replying(AuditQuery)
    async def audit_list(query: AuditQuery) -> BaseModel:
        # Read-after-write: everything already in the stream is in the answer.
        info = await js.stream_info(EVENTS_STREAM)
        await audit.wait_applied(info.state.last_seq, timeout=2.0)
        return await asyncio.to_thread(audit.query, query)

    @replying(AgentStatesQuery)
    async def agent_states(query: AgentStatesQuery) -> BaseModel:
        # Read-after-write like the audit log: a create, delete or transition already
        # published is in the answer.
        info = await js.stream_info(EVENTS_STREAM)
        await audit.wait_applied(info.state.last_seq, timeout=2.0)
        return await asyncio.to_thread(audit.agent_states, query)

    host.handle(Subjects.AUDIT_LIST, audit_list)
    host.handle(Subjects.AGENT_STATES, agent_states)
