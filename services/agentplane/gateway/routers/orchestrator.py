"""Seed 002: orchestrator agents (`/api/v1/agents…`): registration and lifecycle.

Registration takes the one-time token in `X-Agent-Token`. The agent's key pair is generated
here, in the gateway: only its public half travels to the registry to be certified, and the
private key appears once, in this response, and nowhere else. Who may call the other
endpoints is decided in `orchestrator_auth`.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import AgentList, AgentRecord, GetAgent, ListAgents
from agentplane.contracts.errors import invalid, not_found, unauthorized
from agentplane.contracts.http.orchestrator import RegisterBody, UpdateBody
from agentplane.contracts.liveness import AgentLiveness
from agentplane.contracts.orchestrator import (
    HEALTHY,
    ORCHESTRATOR_DIALECT,
    REPORTED_STATUS,
    DeleteOrchestratorAgent,
    OrchestratorAgentDeleted,
    OrchestratorAgentRegistered,
    RegisterOrchestratorAgent,
    UpdateOrchestratorAgent,
)
from agentplane.contracts.subjects import Registry
from agentplane.gateway.auth import Bus
from agentplane.gateway.formats import iso_seconds
from agentplane.gateway.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotency
from agentplane.gateway.liveness import latest_heartbeats, liveness_of
from agentplane.gateway.orchestrator_auth import AGENT_NOT_FOUND, Caller
from agentplane.gateway.paging import Cursor, Item, Limit, collection, paged_responses
from agentplane.security.ca import new_private_key, private_key_pem, public_key_pem

router = APIRouter(tags=["orchestrator agents (seed 002)"])

# Registration tokens are ~60 characters; anything far longer is refused without a lookup.
MAX_REGISTRATION_TOKEN_LENGTH = 512


class AgentStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    DEGRADED = "degraded"


# -- views -----------------------------------------------------------------------------------


def _status(agent: AgentRecord, live: AgentLiveness | None) -> AgentStatus:
    """Offline until the agent heartbeats and after it misses three intervals; while online,
    `degraded` when the status its heartbeats report is not healthy."""
    if live is None or not live.online:
        return AgentStatus.OFFLINE
    reported = agent.attributes.get(REPORTED_STATUS)
    if isinstance(reported, str) and reported.lower() != HEALTHY:
        return AgentStatus.DEGRADED
    return AgentStatus.ONLINE


def _resource_usage(heartbeat: dict[str, Any] | None) -> dict[str, Any] | None:
    usage = (heartbeat or {}).get("resourceUsage")
    return usage if isinstance(usage, dict) else None


def _summary(
    agent: AgentRecord, live: AgentLiveness | None, heartbeat: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": str(agent.id),
        "name": agent.name,
        "version": agent.attributes.get("version"),
        "status": _status(agent, live).value,
        "capabilities": [c.name for c in agent.capabilities],
        "lastHeartbeat": iso_seconds(live.last_seen_at) if live else None,
        # As the newest heartbeat reported it (telemetry channel); None before the first.
        "resourceUsage": _resource_usage(heartbeat),
    }


def _details(
    agent: AgentRecord, live: AgentLiveness | None, heartbeat: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        **_summary(agent, live, heartbeat),
        "workspaceId": agent.workspace_id,
        "labels": agent.attributes.get("labels") or {},
        "createdAt": iso_seconds(agent.created_at),
        # Deployment targets are not modelled yet; the key is part of the documented shape.
        "targets": [],
    }


async def _agent(bus: BusClient, workspace_id: str, agent_id: Any) -> AgentRecord:
    agent = AgentRecord.model_validate(
        await bus.request(
            Registry.AGENT_GET, GetAgent(workspace_id=workspace_id, agent_id=agent_id)
        )
    )
    if agent.dialect != ORCHESTRATOR_DIALECT:
        raise not_found(AGENT_NOT_FOUND)
    return agent


async def _detailed(bus: BusClient, agent: AgentRecord) -> dict[str, Any]:
    live = (await liveness_of(bus, [agent.id])).agents.get(str(agent.id))
    heartbeats = await latest_heartbeats(bus, [agent.id] if live else [])
    return _details(agent, live, heartbeats.get(agent.id))


# -- endpoints -------------------------------------------------------------------------------


@router.post(
    "/api/v1/agents/register",
    status_code=201,
    responses={
        409: {"description": "An agent with this name already exists"},
        **IDEMPOTENCY_RESPONSES,
    },
)
async def register(
    body: RegisterBody,
    bus: Bus,
    x_agent_token: Annotated[str | None, Header()] = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    if not x_agent_token:
        raise unauthorized("Missing registration token (X-Agent-Token header)")
    if len(x_agent_token) > MAX_REGISTRATION_TOKEN_LENGTH:
        raise unauthorized("Invalid or expired registration token")
    registration_token = x_agent_token.strip()
    # The principal is the holder of the one-time token: only they can replay its answer.
    scope = "registration:" + hashlib.sha256(registration_token.encode()).hexdigest()
    once = idempotency(idempotency_key, scope, "orchestrator.register", body)
    key = new_private_key()
    cmd = RegisterOrchestratorAgent(
        registration_token=registration_token,
        name=body.name,
        version=body.version,
        capabilities=body.capabilities,
        labels=body.labels,
        public_key_pem=public_key_pem(key),
        idempotency=once,
        # Kept with the stored answer, so a retry gets the key its certificate certifies.
        private_key_pem=private_key_pem(key) if once else None,
    )
    result = OrchestratorAgentRegistered.model_validate(
        await bus.request(Registry.ORCHESTRATOR_REGISTER, cmd)
    )
    return {
        "agentId": str(result.agent_id),
        "token": result.token,
        "config": {
            "heartbeatInterval": result.config.heartbeat_interval,
            "taskPollInterval": result.config.task_poll_interval,
            "logLevel": result.config.log_level,
        },
        "certificate": {
            "cert": result.certificate.cert,
            "key": result.private_key_pem or private_key_pem(key),
            "ca": result.certificate.ca,
            "expiresAt": iso_seconds(result.certificate.expires_at),
        },
    }


@router.get(
    "/api/v1/agents",
    responses=paged_responses("The workspace's orchestrator agents, oldest first (with a "
                              "filter a page may be short: only a missing X-Next-Cursor ends it)"),
)  # fmt: skip
async def list_agents(
    caller: Caller,
    bus: Bus,
    status: AgentStatus | None = None,
    capability: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Response:
    # The fleet view is the operator's; an agent sees only itself (GET /api/v1/agents/{id}).
    caller.require_operator()

    async def fetch(after: str | None, size: int) -> tuple[list[Item], str | None]:
        query = ListAgents(
            workspace_id=caller.workspace_id,
            after=after,
            limit=size,
            dialect=ORCHESTRATOR_DIALECT,
            capability=capability,
        )
        page = AgentList.model_validate(await bus.request(Registry.AGENT_LIST, query))
        agents = page.agents
        report = await liveness_of(bus, [a.id for a in agents])
        live = {a.id: report.agents.get(str(a.id)) for a in agents}
        if status is not None:
            agents = [a for a in agents if _status(a, live[a.id]) is status]
        # Only agents ever heard from have heartbeat telemetry.
        heartbeats = await latest_heartbeats(bus, [a.id for a in agents if live[a.id]])
        return [_summary(a, live[a.id], heartbeats.get(a.id)) for a in agents], page.next_after

    return await collection(fetch, limit, cursor)


@router.get("/api/v1/agents/{agent_id}")
async def get_agent(agent_id: str, caller: Caller, bus: Bus) -> dict[str, Any]:
    agent = await _agent(bus, caller.workspace_id, caller.target(agent_id))
    return await _detailed(bus, agent)


@router.put(
    "/api/v1/agents/{agent_id}",
    responses={409: {"description": "An agent with this name already exists"}},
)
async def update_agent(agent_id: str, body: UpdateBody, caller: Caller, bus: Bus) -> dict[str, Any]:
    target = caller.target(agent_id)
    if body.labels is None and body.capabilities is None:
        raise invalid("Nothing to update: give labels and/or capabilities", field="body")
    await _agent(bus, caller.workspace_id, target)
    cmd = UpdateOrchestratorAgent(
        workspace_id=caller.workspace_id,
        agent_id=target,
        labels=body.labels,
        capabilities=body.capabilities,
    )
    agent = AgentRecord.model_validate(await bus.request(Registry.ORCHESTRATOR_UPDATE, cmd))
    return await _detailed(bus, agent)


@router.delete("/api/v1/agents/{agent_id}")
async def delete_agent(agent_id: str, caller: Caller, bus: Bus) -> dict[str, Any]:
    cmd = DeleteOrchestratorAgent(
        workspace_id=caller.workspace_id, agent_id=caller.target(agent_id)
    )
    result = OrchestratorAgentDeleted.model_validate(
        await bus.request(Registry.ORCHESTRATOR_DELETE, cmd)
    )
    return {"deleted": result.deleted}
