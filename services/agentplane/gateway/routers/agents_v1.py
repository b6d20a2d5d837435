"""Seed 000: the canonical agents API (`/v1/agents…`, workspace key in `x-api-key`)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Request

from agentplane.bus.agent_token_cache import AgentTokenCache
from agentplane.bus.requests import BusClient
from agentplane.contracts.agent_credentials import (
    AgentTokenRotated,
    CapabilitySet,
    ExpiringTokenList,
    FindAgentsByCapability,
    ListExpiringTokens,
    ReplaceCapabilities,
    RotateAgentToken,
)
from agentplane.contracts.agents import (
    AgentList,
    AgentProvisioned,
    AgentRecord,
    Capability,
    GetAgent,
    ListAgents,
    ProvisionAgent,
    RegisterAgent,
)
from agentplane.contracts.audit import AuditLog, AuditQuery
from agentplane.contracts.errors import not_found
from agentplane.contracts.http.agents import (
    AgentHeartbeatBody,
    CapabilitiesBody,
    ProvisionBody,
    RegisterBody,
    RotateTokenBody,
)
from agentplane.contracts.liveness import AgentBeat, LivenessQuery, LivenessReport
from agentplane.contracts.subjects import Heartbeat, Lifecycle, Registry
from agentplane.gateway.auth import Bus, Workspace
from agentplane.gateway.formats import iso_ms
from agentplane.gateway.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotency

router = APIRouter(tags=["agents (seed 000)"])


CapabilityName = Annotated[str, Path(min_length=1, max_length=100)]


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


def _capability(capability: Capability) -> dict[str, Any]:
    return {"name": capability.name, "metadata": capability.metadata}


def _services(agent: AgentRecord) -> list[dict[str, Any]]:
    return [
        {"id": s.id, "name": s.name, "targetPort": s.target_port, "status": s.status}
        for s in agent.services
    ]


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


@router.post("/v1/agents/provision", status_code=201, responses=IDEMPOTENCY_RESPONSES)
async def provision(
    body: ProvisionBody, ws: Workspace, bus: Bus, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Provision an agent; its token is shown once (again only to a retry with the same
    Idempotency-Key)."""
    cmd = ProvisionAgent(
        workspace_id=ws.workspace_id,
        client_type=body.client_type,
        label=body.label,
        name=body.name,
        ttl_seconds=body.ttl_seconds,
        idempotency=idempotency(idempotency_key, ws.workspace_id, "agents.provision", body),
    )
    result = AgentProvisioned.model_validate(await bus.request(Registry.AGENT_PROVISION, cmd))
    return {
        "agentId": str(result.agent_id),
        "token": result.token,
        "expiresAt": iso_ms(result.expires_at),
        "workspaceId": result.workspace_id,
        "workspaceName": result.workspace_name,
    }


@router.post(
    "/v1/agents/register",
    status_code=201,
    responses={409: {"description": "An agent with this agentId already exists"}},
)
async def register(body: RegisterBody, ws: Workspace, bus: Bus) -> dict[str, Any]:
    cmd = RegisterAgent(
        workspace_id=ws.workspace_id,
        agent_id=body.agent_id,
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


@router.post("/v1/agents/heartbeat", responses={401: {"description": "Invalid agent credentials"}})
async def heartbeat(body: AgentHeartbeatBody, request: Request, bus: Bus) -> dict[str, Any]:
    tokens: AgentTokenCache = request.app.state.agent_tokens
    agent_id = str(body.agent_id)
    if tokens.trusted(agent_id, body.token):
        # Hot path: a token verified moments ago. Publish the beat without waiting; the
        # heartbeat service checks it again against its own cache, so nothing is granted here.
        await bus.nc.publish(Heartbeat.native(agent_id), json.dumps({"token": body.token}).encode())
        return {"success": True}
    generation = tokens.generation
    await bus.request(Heartbeat.BEAT, AgentBeat(agent_id=body.agent_id, token=body.token))
    tokens.remember(agent_id, body.token, generation)
    return {"success": True}


@router.post(
    "/v1/agents/rotate-token",
    responses={
        401: {"description": "Invalid agent credentials"},
        409: {"description": "The agent is terminated, or changed concurrently"},
    },
)
async def rotate_token(body: RotateTokenBody, request: Request, bus: Bus) -> dict[str, Any]:
    # Like heartbeat: the agent proves itself with its token; no workspace key is needed.
    cmd = RotateAgentToken(agent_id=body.agent_id, current_token=body.current_token)
    result = AgentTokenRotated.model_validate(await bus.request(Registry.AGENT_ROTATE_TOKEN, cmd))
    # The registry's event invalidates every gateway; this one must not wait for it.
    request.app.state.agent_tokens.forget(str(body.agent_id))
    return {"success": True, "newToken": result.new_token, "expiresAt": iso_ms(result.expires_at)}


@router.get("/v1/agents")
async def list_agents(ws: Workspace, bus: Bus) -> list[dict[str, Any]]:
    agents, report = await _list(bus, ws.workspace_id)
    return [_summary(a, report) for a in agents]


@router.get("/v1/agents/online")
async def list_online(ws: Workspace, bus: Bus) -> list[dict[str, Any]]:
    agents, report = await _list(bus, ws.workspace_id)
    return [s for s in (_summary(a, report) for a in agents) if s["isOnline"]]


@router.get("/v1/agents/orchestration")
async def orchestration(ws: Workspace, bus: Bus) -> dict[str, Any]:
    agents, report = await _list(bus, ws.workspace_id)
    view = []
    for agent in agents:
        summary = _summary(agent, report)
        view.append(
            {
                "id": summary["id"],
                "name": agent.name,
                "label": agent.label,
                "isOnline": summary["isOnline"],
                "lastSeenAt": summary["lastSeenAt"],
                "capabilities": [_capability(c) for c in agent.capabilities],
                "services": _services(agent),
            }
        )
    return {"agents": view}


@router.get("/v1/agents/by-capability/{name}")
async def by_capability(name: CapabilityName, ws: Workspace, bus: Bus) -> dict[str, Any]:
    agents = AgentList.model_validate(
        await bus.request(
            Registry.AGENT_FIND_BY_CAPABILITY,
            FindAgentsByCapability(workspace_id=ws.workspace_id, name=name),
        )
    ).agents
    report = await _liveness(bus, agents)
    return {
        "agents": [
            {
                "id": str(agent.id),
                "name": agent.name,
                "isOnline": _summary(agent, report)["isOnline"],
                "capability": _capability(next(c for c in agent.capabilities if c.name == name)),
            }
            for agent in agents
        ]
    }


@router.get("/v1/agents/expiring-tokens")
async def expiring_tokens(ws: Workspace, bus: Bus) -> dict[str, Any]:
    found = ExpiringTokenList.model_validate(
        await bus.request(
            Registry.AGENT_EXPIRING_TOKENS, ListExpiringTokens(workspace_id=ws.workspace_id)
        )
    )
    return {
        "agents": [
            {
                "id": str(e.agent_id),
                "name": e.name,
                "tokenExpiresAt": iso_ms(e.token_expires_at),
                "hoursUntilExpiry": e.hours_until_expiry,
            }
            for e in found.agents
        ]
    }


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
        "capabilities": [_capability(c) for c in agent.capabilities],
        "services": _services(agent),
    }


@router.post(
    "/v1/agents/{agent_id}/capabilities",
    responses={409: {"description": "The agent is terminated"}},
)
async def replace_capabilities(
    agent_id: str, body: CapabilitiesBody, ws: Workspace, bus: Bus
) -> dict[str, Any]:
    cmd = ReplaceCapabilities(
        workspace_id=ws.workspace_id,
        agent_id=_agent_id(agent_id),
        capabilities=[Capability(name=c.name, metadata=c.metadata) for c in body.capabilities],
    )
    result = CapabilitySet.model_validate(
        await bus.request(Registry.AGENT_REPLACE_CAPABILITIES, cmd)
    )
    return {"success": True, "capabilities": [_capability(c) for c in result.capabilities]}


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
