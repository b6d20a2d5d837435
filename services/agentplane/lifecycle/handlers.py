"""NATS handlers of the lifecycle service."""

from __future__ import annotations

import asyncio
from typing import Any

from nats.js import JetStreamContext
from pydantic import BaseModel

from agentplane.bus.consumers import durable_subscriber
from agentplane.bus.durable_state import caught_up
from agentplane.bus.host import ServiceHost
from agentplane.bus.routes import UseCase, command, query, raw, serve_routes
from agentplane.contracts.agent_states import AgentStatesQuery, DrainAgent, ProvisionAgent
from agentplane.contracts.audit import AuditQuery
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events
from agentplane.contracts.subjects import Lifecycle as Subjects
from agentplane.lifecycle.application import AuditLogs
from agentplane.lifecycle.domain.state_precedence import with_records
from agentplane.lifecycle.inputs import INPUT_TYPES
from agentplane.lifecycle.lifecycles import Lifecycles
from agentplane.lifecycle.progress import Progress
from agentplane.lifecycle.projections import AUDITED_TYPES

AUDIT_CONSUMER = "lifecycle-audit"
# The state machine's own consumer: a new one starts at the beginning of the stream, so the
# machines of agents created before it existed are built too.
MACHINE_CONSUMER = "lifecycle-machine"
# While events stream in, the audit waits this long to take more at once. Its cost per event
# falls with the batch: a transaction writes every page it touched to the WAL, and a batch's
# entries land on one index page per agent (3,000 sends between 50 agents: 2.6 pwrite calls
# per event in batches of ~30 at 0.02 s, 1.1 in batches of ~200). An audit read never waits
# for it: `audit_list` cuts a linger short (`reader_waiting`).
AUDIT_LINGER_SECONDS = 0.1
# How long a query or command waits for the stream's events to be applied (read-after-write).
CATCH_UP_SECONDS = 2.0


def filters(event_types: frozenset[str]) -> list[str]:
    """The stream subjects of these event types, whichever service publishes them."""
    return sorted(Events.subject("*", event_type) for event_type in event_types)


def register_handlers(
    host: ServiceHost, audit: AuditLogs, lifecycles: Lifecycles, js: JetStreamContext
) -> Progress:
    """Subscribe and answer; returns how far the state machine has applied the stream."""

    async def on_event(body: bytes, sequence: int) -> None:
        await asyncio.to_thread(audit.apply, body, sequence)
        await audit.applied(sequence)

    async def on_events(items: list[tuple[bytes, int]]) -> None:
        # What arrived together is applied together: one thread hop and one transaction.
        await asyncio.to_thread(audit.apply_batch, items)
        await audit.applied(max(sequence for _, sequence in items))

    audit_arrivals = durable_subscriber(
        host,
        stream=EVENTS_STREAM,
        # Only what makes entries is sent (filtered by the server, whichever service
        # publishes it); bookkeeping events never reach this service.
        subject=filters(AUDITED_TYPES),
        durable=AUDIT_CONSUMER,
        handler=on_event,
        batch=on_events,
        linger=AUDIT_LINGER_SECONDS,
    )

    machine = Progress(lifecycles.position())

    async def on_machine_events(items: list[tuple[bytes, int]]) -> None:
        await asyncio.to_thread(lifecycles.apply_stream, items)
        await machine.applied(max(sequence for _, sequence in items))

    async def on_machine_event(body: bytes, sequence: int) -> None:
        await on_machine_events([(body, sequence)])

    durable_subscriber(
        host,
        stream=EVENTS_STREAM,
        # Only what moves a machine is sent: a seed 000 registration never reaches it.
        subject=filters(INPUT_TYPES),
        durable=MACHINE_CONSUMER,
        handler=on_machine_event,
        batch=on_machine_events,
    )

    async def machine_caught_up() -> None:
        # Read-after-write: a create, delete or transition already published is applied.
        await caught_up(js, EVENTS_STREAM, MACHINE_CONSUMER, machine, CATCH_UP_SECONDS)

    class AfterMachine:
        """Read-after-write: what is already published is applied before a use case runs."""

        async def command(self, use_case: UseCase, request: Any) -> Any:
            await machine_caught_up()
            return await asyncio.to_thread(use_case, request)

        query = command

    def states(states_query: AgentStatesQuery) -> BaseModel:
        # The registry's records ride along; which state wins is lifecycle's rule.
        return with_records(lifecycles.states(states_query), states_query.recorded)

    async def audit_list(audit_query: AuditQuery) -> BaseModel:
        with audit_arrivals.reader_waiting():
            await caught_up(js, EVENTS_STREAM, AUDIT_CONSUMER, audit, CATCH_UP_SECONDS)
        return await asyncio.to_thread(audit.query, audit_query)

    routes = [
        raw(Subjects.AUDIT_LIST, AuditQuery, audit_list),
        query(Subjects.AGENT_STATES, AgentStatesQuery, states),
        command(Subjects.AGENT_PROVISION, ProvisionAgent, lifecycles.provision),
        command(Subjects.AGENT_DRAIN, DrainAgent, lifecycles.drain),
    ]
    serve_routes(host, routes, AfterMachine())
    return machine
