"""Seed 004: the PAP agents API (`/api/agents…`, `Authorization: Bearer <workspace key>`).

Every route is rate limited per workspace by tier (see gateway/rate_limits.py). Creating an
agent answers 201 (the document names no status). Deleting an agent twice answers the same
200 again without a second lifecycle event.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from agentplane.bus.requests import BusClient
from agentplane.contracts.errors import invalid, not_found
from agentplane.contracts.liveness import LivenessQuery, LivenessReport
from agentplane.contracts.pap import (
    DEFAULT_IMAGE,
    DNS_LABEL_MAX,
    DNS_LABEL_PATTERN,
    CreatePapAgent,
    GetPapAgent,
    ListPapAgents,
    PapAgent,
    PapAgentCreated,
    PapAgentDetails,
    PapAgentList,
    PapAgentTerminated,
    PapResources,
    TerminatePapAgent,
)
from agentplane.contracts.subjects import Heartbeat, Registry
from agentplane.gateway.auth import Bus
from agentplane.gateway.formats import iso_seconds
from agentplane.gateway.pap_auth import PapWorkspace

router = APIRouter(tags=["PAP agents (seed 004)"])

NAME_REQUIRED = "Name is required"
NAME_NOT_DNS_SAFE = "Name must be DNS-safe: lowercase alphanumeric and hyphens only"
AGENT_NOT_FOUND = "Agent not found"
_DNS_LABEL = re.compile(DNS_LABEL_PATTERN)


class CreateAgentBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Any type: a missing or malformed name gets the document's messages, not pydantic's.
    name: Any = None
    description: str | None = Field(default=None, max_length=1000)
    image: str | None = Field(default=None, max_length=512)
    resources: PapResources | None = None


def dns_safe_name(name: Any) -> str:
    """The name if it is a DNS label; the documented 400 otherwise."""
    if name is None or name == "":
        raise invalid(NAME_REQUIRED, field="name")
    if not isinstance(name, str) or len(name) > DNS_LABEL_MAX or _DNS_LABEL.fullmatch(name) is None:
        raise invalid(NAME_NOT_DNS_SAFE, field="name")
    return name


def _agent_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise not_found(AGENT_NOT_FOUND) from None


def agent_json(agent: PapAgent, report: LivenessReport | None = None) -> dict[str, Any]:
    live = report.agents.get(str(agent.uuid)) if report else None
    return {
        "uuid": str(agent.uuid),
        "name": agent.name,
        "dns_name": agent.dns_name,
        "state": agent.state,
        "kubernetes_namespace": agent.kubernetes_namespace,
        "kubernetes_deployment": agent.kubernetes_deployment,
        "created_at": iso_seconds(agent.created_at),
        "provisioned_at": iso_seconds(agent.provisioned_at),
        "activated_at": iso_seconds(agent.activated_at),
        "terminated_at": iso_seconds(agent.terminated_at),
        "last_heartbeat_at": iso_seconds(live.last_seen_at if live else agent.last_heartbeat_at),
        "metadata": agent.metadata,
    }


async def _liveness(bus: BusClient, agents: list[PapAgent]) -> LivenessReport:
    if not agents:
        return LivenessReport(agents={})
    data = await bus.request(
        Heartbeat.LIVENESS_QUERY, LivenessQuery(agent_ids=[a.uuid for a in agents])
    )
    return LivenessReport.model_validate(data)


@router.post("/api/agents", status_code=201)
async def create_agent(
    ws: PapWorkspace, bus: Bus, body: CreateAgentBody | None = None
) -> dict[str, Any]:
    body = body or CreateAgentBody()
    cmd = CreatePapAgent(
        workspace_id=ws.workspace_id,
        name=dns_safe_name(body.name),
        description=body.description,
        image=body.image or DEFAULT_IMAGE,
        resources=body.resources or PapResources(),
    )
    created = PapAgentCreated.model_validate(await bus.request(Registry.PAP_AGENT_CREATE, cmd))
    name = created.agent.name
    return {
        "agent": agent_json(created.agent),
        "deployment": {
            "success": True,
            "message": f"Agent {name} deployed successfully",
            "deploymentName": created.agent.kubernetes_deployment,
        },
    }


@router.get("/api/agents")
async def list_agents(ws: PapWorkspace, bus: Bus) -> list[dict[str, Any]]:
    agents = PapAgentList.model_validate(
        await bus.request(Registry.PAP_AGENT_LIST, ListPapAgents(workspace_id=ws.workspace_id))
    ).agents
    report = await _liveness(bus, agents)
    return [agent_json(a, report) for a in agents]


@router.get("/api/agents/{agent_uuid}")
async def get_agent(agent_uuid: str, ws: PapWorkspace, bus: Bus) -> dict[str, Any]:
    query = GetPapAgent(workspace_id=ws.workspace_id, agent_id=_agent_id(agent_uuid))
    details = PapAgentDetails.model_validate(await bus.request(Registry.PAP_AGENT_GET, query))
    report = await _liveness(bus, [details.agent])
    return {
        "agent": agent_json(details.agent, report),
        # Telemetry and provisioning fill these in; the keys are part of the contract now.
        "recentHeartbeats": [],
        "recentMetrics": [],
        "lifecycleEvents": [
            {
                "id": e.id,
                "agent_uuid": str(e.agent_uuid),
                "event_type": e.event_type,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "metadata": e.metadata,
                "timestamp": iso_seconds(e.timestamp),
            }
            for e in details.lifecycle_events
        ],
        "kubernetesStatus": None,
    }


@router.delete("/api/agents/{agent_uuid}")
async def delete_agent(agent_uuid: str, ws: PapWorkspace, bus: Bus) -> dict[str, Any]:
    cmd = TerminatePapAgent(workspace_id=ws.workspace_id, agent_id=_agent_id(agent_uuid))
    done = PapAgentTerminated.model_validate(await bus.request(Registry.PAP_AGENT_TERMINATE, cmd))
    return {
        "message": "Agent terminated successfully",
        "kubernetes": {
            "success": True,
            "message": f"Agent {done.agent.name} deleted successfully",
        },
    }
