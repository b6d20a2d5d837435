"""The seed 000 JSON shapes of agents, shared by the agent routes and the agent lists.

Lists map the registry's `AgentRecord` JSON and the heartbeat service's `AgentLiveness` JSON
as plain dicts (`*_of_doc`): a page of thousands of agents is never turned into models here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import AgentRecord, Capability
from agentplane.contracts.liveness import LivenessQuery, LivenessReport
from agentplane.contracts.service_health import ServiceHealth
from agentplane.contracts.subjects import Heartbeat
from agentplane.gateway.formats import iso_ms


async def liveness(bus: BusClient, agents: list[AgentRecord]) -> LivenessReport:
    if not agents:
        return LivenessReport(agents={})
    data = await bus.request(
        Heartbeat.LIVENESS_QUERY, LivenessQuery(agent_ids=[a.id for a in agents])
    )
    return LivenessReport.model_validate(data)


def capability_json(capability: Capability) -> dict[str, Any]:
    return {"name": capability.name, "metadata": capability.metadata}


def _status(service_id: str, health: dict[str, ServiceHealth]) -> str:
    found = health.get(service_id)
    return found.status.value if found else "unknown"


def services_json(agent: AgentRecord, health: dict[str, ServiceHealth]) -> list[dict[str, Any]]:
    """The agent's services with their status from diagnostics (`service_health.health_of`)."""
    return [
        {"id": s.id, "name": s.name, "targetPort": s.target_port, "status": _status(s.id, health)}
        for s in agent.services
    ]


def summary(agent: AgentRecord, report: LivenessReport) -> dict[str, Any]:
    live = report.agents.get(str(agent.id))
    return {
        "id": str(agent.id),
        "name": agent.name,
        "label": agent.label,
        "isOnline": bool(live and live.online),
        "lastSeenAt": iso_ms(live.last_seen_at) if live else None,
        "createdAt": iso_ms(agent.created_at),
    }


# -- list pages: records and liveness as JSON dicts ------------------------------------------


def ms_text(value: str | None) -> str | None:
    """An ISO timestamp (as services encode them) in the seed 000 form, `….123Z`."""
    if value is None:
        return None
    if len(value) == 32 and value.endswith("+00:00") and value[19] == ".":
        return value[:23] + "Z"
    if len(value) == 27 and value.endswith("Z") and value[19] == ".":
        return value[:23] + "Z"
    return iso_ms(datetime.fromisoformat(value))


async def liveness_of_docs(bus: BusClient, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Liveness (`AgentLiveness` JSON) of agents heard from, by agent id."""
    if not docs:
        return {}
    query = orjson.dumps({"agent_ids": [d["id"] for d in docs]})
    return dict((await bus.request(Heartbeat.LIVENESS_QUERY, query)).get("agents") or {})


def capability_of_doc(capability: dict[str, Any]) -> dict[str, Any]:
    return {"name": capability["name"], "metadata": capability.get("metadata") or {}}


def services_of_doc(doc: dict[str, Any], health: dict[str, ServiceHealth]) -> list[dict[str, Any]]:
    return [
        {
            "id": s["id"],
            "name": s["name"],
            "targetPort": s["target_port"],
            "status": _status(s["id"], health),
        }
        for s in doc.get("services") or []
    ]


def service_ids_of_docs(docs: list[dict[str, Any]]) -> list[str]:
    return [s["id"] for d in docs for s in d.get("services") or []]


def summary_of_doc(doc: dict[str, Any], live: dict[str, Any] | None) -> dict[str, Any]:
    """`summary` of an `AgentRecord`'s JSON and its `AgentLiveness` JSON (None: never heard)."""
    # Run once per agent of a list (100,000 times for a big fleet): no work for the agents
    # never heard from, and the common timestamp form is cut without parsing (`ms_text`).
    if live is None:
        return {
            "id": doc["id"],
            "name": doc.get("name"),
            "label": doc.get("label"),
            "isOnline": False,
            "lastSeenAt": None,
            "createdAt": ms_text(doc["created_at"]),
        }
    return {
        "id": doc["id"],
        "name": doc.get("name"),
        "label": doc.get("label"),
        "isOnline": bool(live.get("online")),
        "lastSeenAt": ms_text(live.get("last_seen_at")),
        "createdAt": ms_text(doc["created_at"]),
    }
