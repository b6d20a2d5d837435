"""Seed 000: the canonical agents API (`/v1/agents…`, workspace key in `x-api-key`)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response

from agentplane.bus.agent_token_cache import AgentTokenCache
from agentplane.bus.requests import BusClient
from agentplane.contracts.agent_credentials import (
    AgentTokenRotated,
    CapabilitySet,
    ReplaceCapabilities,
    RotateAgentToken,
)
from agentplane.contracts.agents import (
    AgentProvisioned,
    AgentRecord,
    Capability,
    GetAgent,
    ProvisionAgent,
    RegisterAgent,
)
from agentplane.contracts.audit import AuditLog, AuditQuery
from agentplane.contracts.http.agents import (
    AgentHeartbeatBody,
    CapabilitiesBody,
    ProvisionBody,
    RegisterBody,
    RotateTokenBody,
)
from agentplane.contracts.liveness import AgentBeat
from agentplane.contracts.subjects import Heartbeat, Lifecycle, Registry
from agentplane.gateway.agent_views import capability_json, liveness, services_json, summary
from agentplane.gateway.auth import Bus, Workspace, app_bus
from agentplane.gateway.formats import iso_ms
from agentplane.gateway.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotency
from agentplane.gateway.paging import Cursor, Item, Limit, collection, paged_responses
from agentplane.gateway.path_ids import agent_uuid
from agentplane.gateway.rate_limits import count_agent_request, enforce_agent_limit
from agentplane.gateway.service_health import health_of

router = APIRouter(tags=["agents (seed 000)"])

REGISTER_TIMEOUT_SECONDS = 30.0


CapabilityName = Annotated[str, Path(min_length=1, max_length=100)]


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
async def register(body: RegisterBody, ws: Workspace, request: Request) -> dict[str, Any]:
    cmd = RegisterAgent(
        workspace_id=ws.workspace_id,
        agent_id=body.agent_id,
        token=body.token,
        label=body.label,
        name=body.name,
    )
    # A storm of registrations queues at the registry: each is answered once committed, so
    # waiting longer than a query beats a 503 for a registration that then succeeds.
    data = await app_bus(request).request(
        Registry.AGENT_REGISTER, cmd, timeout=REGISTER_TIMEOUT_SECONDS
    )
    agent = AgentRecord.model_validate(data)
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


AGENT_LIMITED = {429: {"description": "The agent's own rate limit is spent; see Retry-After"}}


@router.post(
    "/v1/agents/heartbeat",
    responses={401: {"description": "Invalid agent credentials"}, **AGENT_LIMITED},
)
async def heartbeat(body: AgentHeartbeatBody, request: Request) -> dict[str, Any]:
    tokens: AgentTokenCache = request.app.state.agent_tokens
    bus = app_bus(request)
    agent_id = str(body.agent_id)
    if tokens.trusted(agent_id, body.token):
        # Hot path: a token verified moments ago. Publish the beat without waiting; the
        # heartbeat service checks it again against its own cache, so nothing is granted here.
        enforce_agent_limit(request, agent_id)
        await bus.nc.publish(Heartbeat.native(agent_id), json.dumps({"token": body.token}).encode())
        return {"success": True}
    # Refused when the agent is over its limit, but counted only once the token proved good,
    # so a wrong token never spends the agent's budget (it counts against the caller's
    # address instead: gateway/auth_throttle.py).
    enforce_agent_limit(request, agent_id, count=False)
    generation = tokens.generation
    await bus.request(Heartbeat.BEAT, AgentBeat(agent_id=body.agent_id, token=body.token))
    tokens.remember(agent_id, body.token, generation)
    count_agent_request(request, agent_id)
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


@router.get("/v1/agents/{agent_id}")
async def get_agent(agent_id: str, ws: Workspace, bus: Bus) -> dict[str, Any]:
    agent = await _get(bus, ws.workspace_id, agent_uuid(agent_id))
    shown = summary(agent, await liveness(bus, [agent]))
    return {
        "id": shown["id"],
        "name": agent.name,
        "label": agent.label,
        "workspaceId": agent.workspace_id,
        "isOnline": shown["isOnline"],
        "lastSeenAt": shown["lastSeenAt"],
        "createdAt": shown["createdAt"],
        "capabilities": [capability_json(c) for c in agent.capabilities],
        "services": services_json(
            agent, await health_of(bus, ws.workspace_id, [s.id for s in agent.services])
        ),
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
        agent_id=agent_uuid(agent_id),
        capabilities=[Capability(name=c.name, metadata=c.metadata) for c in body.capabilities],
    )
    result = CapabilitySet.model_validate(
        await bus.request(Registry.AGENT_REPLACE_CAPABILITIES, cmd)
    )
    return {"success": True, "capabilities": [capability_json(c) for c in result.capabilities]}


@router.get(
    "/v1/agents/{agent_id}/audit-logs",
    responses=paged_responses("The agent's audit entries, newest first", "logs"),
)
async def audit_logs(
    agent_id: str, ws: Workspace, bus: Bus, limit: Limit = None, cursor: Cursor = None
) -> Response:
    agent = await _get(bus, ws.workspace_id, agent_uuid(agent_id))

    async def fetch(after: str | None, size: int) -> tuple[list[Item], str | None]:
        query = AuditQuery(
            workspace_id=ws.workspace_id, agent_id=agent.id, after=after, limit=min(size, 1000)
        )
        log = AuditLog.model_validate(await bus.request(Lifecycle.AUDIT_LIST, query))
        items = [
            {
                "id": e.id,
                "action": e.action,
                "timestamp": iso_ms(e.timestamp),
                "metadata": e.metadata,
            }
            for e in log.logs
        ]
        return items, log.next_after

    return await collection(fetch, limit, cursor, field="logs")
