"""The service catalog's read model: services per workspace (creation order), the edge's
routes (agent services, by service id), taken tunnel ports, and each agent's services in its
agent document (seed 000 details and the orchestration view show them)."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from agentplane.eventstore.paging import sort_key
from agentplane.eventstore.views import ViewTx
from agentplane.registry.domain.service import Service

SERVICE = "service"
ROUTE = "tunnel_route"
TUNNEL_PORT = "tunnel_port"
AGENT = "agent"  # the registry projection's agent documents


def _route(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "service_id": doc["id"],
        "workspace_id": doc["workspace_id"],
        "agent_id": doc["agent_id"],
        "tunnel_port": doc["tunnel_port"],
        "target_host": doc["target_host"],
        "target_port": doc["target_port"],
        "protocol": doc["protocol"],
        "is_public": doc["is_public"],
        "public_subdomain": doc["public_subdomain"],
    }


def _agent_services(tx: ViewTx, agent_id: str | None, change: Any) -> None:
    if not agent_id:
        return
    agent = tx.get(AGENT, agent_id)
    if agent is None:
        return
    agent["services"] = change(list(agent.get("services", [])))
    tx.put(AGENT, agent_id, agent, scope="" if agent.get("deleted") else agent["workspace_id"])


def apply_catalog(event: DomainEventProtocol[Any], tx: ViewTx) -> bool:
    """Apply a catalog event; False when `event` is not one."""
    if isinstance(event, Service.Registered):
        doc = {
            "id": event.service_id,
            "workspace_id": event.workspace_id,
            "agent_id": event.agent_id,
            "name": event.name,
            "target_host": event.target_host,
            "target_port": event.target_port,
            "tunnel_port": event.tunnel_port,
            "protocol": event.protocol,
            "is_public": event.is_public,
            "is_external": event.is_external,
            "public_subdomain": event.public_subdomain,
            "created_at": event.timestamp.isoformat(),
        }
        tx.put(SERVICE, doc["id"], doc, scope=event.workspace_id, sort=sort_key(event.timestamp))
        if event.tunnel_port is not None:
            tx.put(TUNNEL_PORT, str(event.tunnel_port), {"service_id": doc["id"]})
        if event.agent_id is not None:
            tx.put(ROUTE, doc["id"], _route(doc), sort=doc["id"])
        ref = {"id": doc["id"], "name": doc["name"], "target_port": doc["target_port"],
               "status": "unknown"}  # fmt: skip
        _agent_services(tx, event.agent_id,
                        lambda refs: [r for r in refs if r["id"] != ref["id"]] + [ref])  # fmt: skip
        return True
    if not isinstance(event, Service.Renamed | Service.SubdomainChanged | Service.Deleted):
        return False
    doc = tx.get(SERVICE, event.service_id)
    if doc is None:
        return True
    if isinstance(event, Service.Deleted):
        tx.delete(SERVICE, event.service_id)
        tx.delete(ROUTE, event.service_id)
        if event.tunnel_port is not None:
            tx.delete(TUNNEL_PORT, str(event.tunnel_port))
        _agent_services(tx, event.agent_id,
                        lambda refs: [r for r in refs if r["id"] != event.service_id])  # fmt: skip
        return True
    if isinstance(event, Service.Renamed):
        doc["name"] = event.name

        def renamed(refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{**r, "name": event.name} if r["id"] == event.service_id else r for r in refs]

        _agent_services(tx, event.agent_id, renamed)
    else:
        doc["public_subdomain"] = event.public_subdomain
    tx.put(SERVICE, doc["id"], doc, scope=doc["workspace_id"])
    if doc["agent_id"] is not None:
        tx.put(ROUTE, doc["id"], _route(doc), sort=doc["id"])
    return True
