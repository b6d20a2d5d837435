"""The seed 000 JSON shapes of agents, shared by the agent routes and the agent lists."""

from __future__ import annotations

from typing import Any

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import AgentRecord, Capability
from agentplane.contracts.liveness import LivenessQuery, LivenessReport
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


def services_json(agent: AgentRecord) -> list[dict[str, Any]]:
    return [
        {"id": s.id, "name": s.name, "targetPort": s.target_port, "status": s.status}
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
