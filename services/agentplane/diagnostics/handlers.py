"""NATS handlers of the diagnostics service: the one table of what it answers and consumes."""

from __future__ import annotations

from agentplane.bus.consumers import durable_subscriber
from agentplane.bus.host import ServiceHost
from agentplane.bus.routes import Awaiting, command, query, serve_routes
from agentplane.contracts.diagnostics import (
    HistoryQuery,
    RunCheck,
    RunReach,
    SchedulerStatsQuery,
    SessionsQuery,
)
from agentplane.contracts.service_health import ServiceHealthQuery
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Diagnostics as Subjects
from agentplane.contracts.subjects import Events
from agentplane.diagnostics import projections
from agentplane.diagnostics.flows import DiagnosticsFlows

EVENTS_CONSUMER = "diagnostics-catalog"
# The event types this service follows (catalog, liveness, agents gone).
FOLLOWED = frozenset(
    {
        projections.REGISTERED,
        projections.RENAMED,
        projections.DELETED,
        projections.CAME_ONLINE,
        projections.WENT_OFFLINE,
        *projections.AGENT_GONE,
    }
)


def register_handlers(host: ServiceHost, flows: DiagnosticsFlows) -> None:
    routes = [
        query(Subjects.HEALTH, ServiceHealthQuery, flows.health),
        command(Subjects.CHECK, RunCheck, flows.check),
        query(Subjects.HISTORY, HistoryQuery, flows.history),
        command(Subjects.REACH, RunReach, flows.run_reach),
        query(Subjects.SESSIONS, SessionsQuery, flows.sessions),
        query(Subjects.SCHEDULER_STATS, SchedulerStatsQuery, flows.scheduler_stats),
    ]
    # The use cases are async: they run their own threads.
    serve_routes(host, routes, Awaiting())
    durable_subscriber(
        host,
        stream=EVENTS_STREAM,
        # Only these are sent (filtered by the server, whichever service publishes them).
        subject=sorted(Events.subject("*", t) for t in FOLLOWED),
        durable=EVENTS_CONSUMER,
        handler=flows.on_event,
        batch=flows.on_events,
    )
