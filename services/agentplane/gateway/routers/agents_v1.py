"""Seed 000: the canonical agents API (`/v1/agents…`, workspace key in `x-api-key`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import (
    AgentList,
    AgentProvisioned,
    AgentRecord,
    ClientType,
    GetAgent,
    ListAgents,
    ProvisionAgent,
    RegisterAgent,
)
from agentplane.contracts.audit import AuditLog, AuditQuery
from agentplane.contracts.errors import not_found
from agentplane.contracts.liveness import AgentBeat, LivenessQuery, LivenessReport
from agentplane.contracts.subjects import Heartbeat, Lifecycle, Registry
from agentplane.gateway.auth import Bus, Workspace
from agentplane.gateway.formats import iso_ms

router = APIRouter(tags=["agents (seed 000)"])


class ProvisionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    clientType: ClientType
    label: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=100)
    ttlSeconds: int = Field(default=7200, ge=60, le=86400)


class RegisterBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    agentId: UUID
    token: str = Field(min_length=32, max_length=512)
    label: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=100)


class HeartbeatBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    agentId: UUID
    token: str = Field(min_length=1, max_length=512)


def _agent_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise not_found("Agent not found") from None


async def _liveness(bus: BusClient, agents: list[AgentRecord]) -> LivenessReport:
    if not agents:
        return LivenessReport(agents={})
    data = await bus.request(
        Heartbeat.LIVENESS_QUERY, LivenessQuery(agent_ids=[a.id for a in agents])
    )
    return LivenessReport.model_validate(data)


def _summary(agent: AgentRecord, report: LivenessReport) -> dict[str, Any]:
    live = report.agents.get(str(agent.id))
    return {
        "id": str(agent.id),
        "name": agent.name,
        "label": agent.label,
        "isOnline": bool(live and live.online),
        "lastSeenAt": iso_ms(live.last_seen_at) if live else None,
        "createdAt": iso_ms(agent.created_at),
    }


async def _list(bus: BusClient, workspace_id: str) -> tuple[list[AgentRecord], LivenessReport]:
    agents = AgentList.model_validate(
        await bus.request(Registry.AGENT_LIST, ListAgents(workspace_id=workspace_id))
    ).agents
    return agents, await _liveness(bus, agents)


async def _get(bus: BusClient, workspace_id: str, agent_id: UUID) -> AgentRecord:
    return AgentRecord.model_validate(
        await bus.request(
            Registry.AGENT_GET, GetAgent(workspace_id=workspace_id, agent_id=agent_id)
        )
    )


@router.post("/v1/agents/provision", status_code=201)
async def provision(body: ProvisionBody, ws: Workspace, bus: Bus) -> dict[str, Any]:
    cmd = ProvisionAgent(
        workspace_id=ws.workspace_id,
        client_type=body.clientType,
        label=body.label,
        name=body.name,
        ttl_seconds=body.ttlSeconds,
    )
    result = AgentProvisioned.model_validate(await bus.request(Registry.AGENT_PROVISION, cmd))
    return {
        "agentId": str(result.agent_id),
        "token": result.token,
        "expiresAt": iso_ms(result.expires_at),
        "workspaceId": result.workspace_id,
        "workspaceName": result.workspace_name,
    }


@router.post("/v1/agents/register", status_code=201)
async def register(body: RegisterBody, ws: Workspace, bus: Bus) -> dict[str, Any]:
    cmd = RegisterAgent(
        workspace_id=ws.workspace_id,
        agent_id=body.agentId,
        token=body.token,
        label=body.label,
        name=body.name,
    )
    agent = AgentRecord.model_validate(await bus.request(Registry.AGENT_REGISTER, cmd))
    return {
        "success": True,
        "agent": {
            "id": str(agent.id),
            "name": agent.name,
            "label": agent.label,
            "workspaceId": agent.workspace_id,
            "createdAt": iso_ms(agent.created_at),
        },
    }


@router.post("/v1/agents/heartbeat")
async def heartbeat(body: HeartbeatBody, bus: Bus) -> dict[str, Any]:
    await bus.request(Heartbeat.BEAT, AgentBeat(agent_id=body.agentId, token=body.token))
    return {"success": True}


@router.get("/v1/agents")
async def list_agents(ws: Workspace, bus: Bus) -> list[dict[str, Any]]:
    agents, report = await _list(bus, ws.workspace_id)
    return [_summary(a, report) for a in agents]


@router.get("/v1/agents/online")
async def list_online(ws: Workspace, bus: Bus) -> list[dict[str, Any]]:
    agents, report = await _list(bus, ws.workspace_id)
    return [s for s in (_summary(a, report) for a in agents) if s["isOnline"]]


@router.get("/v1/agents/{agent_id}")
async def get_agent(agent_id: str, ws: Workspace, bus: Bus) -> dict[str, Any]:
    agent = await _get(bus, ws.workspace_id, _agent_id(agent_id))
    summary = _summary(agent, await _liveness(bus, [agent]))
    return {
        "id": summary["id"],
        "name": agent.name,
        "label": agent.label,
        "workspaceId": agent.workspace_id,
        "isOnline": summary["isOnline"],
        "lastSeenAt": summary["lastSeenAt"],
        "createdAt": summary["createdAt"],
        "capabilities": [c.model_dump(mode="json") for c in agent.capabilities],
        "services": [
            {"id": s.id, "name": s.name, "targetPort": s.target_port, "status": s.status}
            for s in agent.services
        ],
    }


@router.get("/v1/agents/{agent_id}/audit-logs")
async def audit_logs(agent_id: str, ws: Workspace, bus: Bus) -> dict[str, Any]:
    agent = await _get(bus, ws.workspace_id, _agent_id(agent_id))
    log = AuditLog.model_validate(
        await bus.request(
            Lifecycle.AUDIT_LIST, AuditQuery(workspace_id=ws.workspace_id, agent_id=agent.id)
        )
    )
    return {
        "logs": [
            {
                "id": e.id,
                "action": e.action,
                "timestamp": iso_ms(e.timestamp),
                "metadata": e.metadata,
            }
            for e in log.logs
        ]
    }
