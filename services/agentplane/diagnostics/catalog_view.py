"""What diagnostics knows of the catalog and of agents, from the event stream: which services
to check periodically, whose agent is online. Requests about one service ask the registry
instead (always current); this view only feeds the scheduler and the `inactive` status."""

from __future__ import annotations

from typing import Any

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.services import ServiceRecord
from agentplane.eventstore.views import ViewTx

SERVICE = "svc"
AGENT = "agent"
TRACKING = "events"

REGISTERED = "service.Registered"
RENAMED = "service.Renamed"
DELETED = "service.Deleted"
CAME_ONLINE = "liveness.CameOnline"
WENT_OFFLINE = "liveness.WentOffline"
AGENT_GONE = ("agent.Deleted", "agent.Terminated")


def record_of(event: IntegrationEvent) -> ServiceRecord:
    data = event.data
    return ServiceRecord(
        id=data["service_id"],
        workspace_id=data["workspace_id"],
        agent_id=data.get("agent_id"),
        name=data["name"],
        target_host=data["target_host"],
        target_port=data["target_port"],
        tunnel_port=data.get("tunnel_port"),
        protocol=data["protocol"],
        is_public=data.get("is_public", False),
        is_external=data.get("is_external", data.get("agent_id") is None),
        public_subdomain=data.get("public_subdomain"),
        created_at=event.occurred_at,
    )


def apply_event(tx: ViewTx, event: IntegrationEvent) -> tuple[str, list[str]]:
    """Update the view; answer what changed: ("service", [id]), ("agent", [service ids of the
    agent]) or ("", [])."""
    kind = event.type
    if kind == REGISTERED:
        record = record_of(event)
        tx.put(SERVICE, record.id, record.model_dump(mode="json"),
               scope=str(record.agent_id or ""))  # fmt: skip
        return "service", [record.id]
    service_id = str(event.data.get("service_id", ""))
    if kind == RENAMED and service_id:
        doc = tx.get(SERVICE, service_id)
        if doc is not None:
            doc["name"] = event.data["name"]
            tx.put(SERVICE, service_id, doc, scope=str(doc.get("agent_id") or ""))
        return "", []
    if kind == DELETED and service_id:
        tx.delete(SERVICE, service_id)
        return "deleted", [service_id]
    if kind in (CAME_ONLINE, WENT_OFFLINE, *AGENT_GONE) and event.agent_id:
        online = kind == CAME_ONLINE
        tx.put(AGENT, event.agent_id, {"online": online})
        return "agent", [d["id"] for d in tx.list(SERVICE, event.agent_id)]
    return "", []


def agent_online(tx: ViewTx, agent_id: str | None) -> bool | None:
    if not agent_id:
        return None
    doc: dict[str, Any] | None = tx.get(AGENT, agent_id)
    return bool(doc["online"]) if doc is not None else False


def services(tx: ViewTx) -> list[ServiceRecord]:
    return [ServiceRecord.model_validate(doc) for _, doc in tx.items(SERVICE)]
