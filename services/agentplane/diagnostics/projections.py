"""What diagnostics knows of the catalog and of agents, from the event stream: which services
to check periodically, whose agent is online. Requests about one service ask the registry
instead (always current); this view only feeds the scheduler and the `inactive` status."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.events.event_types import EVENT_TYPES
from agentplane.contracts.events.heartbeat import LivenessCameOnline, LivenessWentOffline
from agentplane.contracts.events.registry import AgentDeleted, AgentTerminated
from agentplane.contracts.events.registry_workspace import (
    ServiceDeleted,
    ServiceRegistered,
    ServiceRenamed,
)
from agentplane.contracts.services import ServiceRecord
from agentplane.eventstore.views import ViewTx

log = logging.getLogger("agentplane.diagnostics.projections")

SERVICE = "svc"
AGENT = "agent"
TRACKING = "events"

REGISTERED = ServiceRegistered.TYPE
RENAMED = ServiceRenamed.TYPE
DELETED = ServiceDeleted.TYPE
CAME_ONLINE = LivenessCameOnline.TYPE
WENT_OFFLINE = LivenessWentOffline.TYPE
AGENT_GONE = (AgentDeleted.TYPE, AgentTerminated.TYPE)


def record_of(registered: ServiceRegistered, at: datetime) -> ServiceRecord:
    return ServiceRecord(
        id=registered.service_id,
        workspace_id=registered.workspace_id,
        agent_id=registered.agent_id,
        name=registered.name,
        target_host=registered.target_host,
        target_port=registered.target_port,
        tunnel_port=registered.tunnel_port,
        protocol=registered.protocol,
        is_public=registered.is_public,
        is_external=(
            registered.agent_id is None
            if registered.is_external is None
            else registered.is_external
        ),
        public_subdomain=registered.public_subdomain,
        created_at=at,
    )


def apply_event(tx: ViewTx, event: IntegrationEvent) -> tuple[str, list[str]]:
    """Update the view; answer what changed: ("service", [id]), ("agent", [service ids of the
    agent]) or ("", [])."""
    kind = event.type
    if kind in (CAME_ONLINE, WENT_OFFLINE, *AGENT_GONE):
        if not event.agent_id:
            return "", []
        tx.put(AGENT, event.agent_id, {"online": kind == CAME_ONLINE})
        return "agent", [d["id"] for d in tx.list(SERVICE, event.agent_id)]
    try:
        public = EVENT_TYPES.parse(event)
    except ValueError:  # a version or shape this process cannot read: skipped, never blocking
        log.error("catalog view: %s v%d of %s is unreadable", event.type, event.version, event.id)
        return "", []
    if isinstance(public, ServiceRegistered):
        record = record_of(public, event.occurred_at)
        tx.put(SERVICE, record.id, record.model_dump(mode="json"),
               scope=str(record.agent_id or ""))  # fmt: skip
        return "service", [record.id]
    if isinstance(public, ServiceRenamed):
        doc = tx.get(SERVICE, public.service_id)
        if doc is not None:
            doc["name"] = public.name
            tx.put(SERVICE, public.service_id, doc, scope=str(doc.get("agent_id") or ""))
        return "", []
    if isinstance(public, ServiceDeleted):
        tx.delete(SERVICE, public.service_id)
        return "deleted", [public.service_id]
    return "", []


def agent_online(tx: ViewTx, agent_id: str | None) -> bool | None:
    if not agent_id:
        return None
    doc: dict[str, Any] | None = tx.get(AGENT, agent_id)
    return bool(doc["online"]) if doc is not None else False


def services(tx: ViewTx) -> list[ServiceRecord]:
    return [ServiceRecord.model_validate(doc) for _, doc in tx.items(SERVICE)]
