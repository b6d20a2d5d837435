"""Seed 002: orchestrator agents (`/api/v1/agents…`): registration and lifecycle.

Registration takes the one-time token in `X-Agent-Token`. The agent's key pair is generated
here, in the gateway: only its public half travels to the registry to be certified, and the
private key appears once, in this response, and nowhere else. Who may call the other
endpoints is decided in `orchestrator_auth`.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from agentplane.bus.requests import BusClient
from agentplane.contracts.errors import invalid, unauthorized
from agentplane.contracts.http.orchestrator import RegisterBody, UpdateBody
from agentplane.contracts.orchestrator import (
    DeleteOrchestratorAgent,
    OrchestratorAgentDeleted,
    OrchestratorAgentRegistered,
    RegisterOrchestratorAgent,
    UpdateOrchestratorAgent,
)
from agentplane.contracts.orchestrator_views import (
    GetOrchestratorAgent,
    ListOrchestratorAgents,
    OrchestratorAgentPage,
    OrchestratorAgentView,
    OrchestratorStatus,
)
from agentplane.contracts.subjects import Registry
from agentplane.gateway.auth import Bus
from agentplane.gateway.formats import iso_seconds
from agentplane.gateway.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotency
from agentplane.gateway.liveness import latest_heartbeats
from agentplane.gateway.orchestrator_auth import Caller
from agentplane.gateway.paging import Cursor, Item, Limit, collection, paged_responses
from agentplane.security.certificates import (
    new_private_key,
    private_key_pem,
    public_key_pem,
)

router = APIRouter(tags=["orchestrator agents (seed 002)"])

# Registration tokens are ~60 characters; anything far longer is refused without a lookup.
MAX_REGISTRATION_TOKEN_LENGTH = 512


# -- views -----------------------------------------------------------------------------------


def _resource_usage(heartbeat: dict[str, Any] | None) -> dict[str, Any] | None:
    usage = (heartbeat or {}).get("resourceUsage")
    return usage if isinstance(usage, dict) else None


def _summary(
    view: OrchestratorAgentView, heartbeat: dict[str, Any] | None = None
) -> dict[str, Any]:
    agent = view.agent
    return {
        "id": str(agent.id),
        "name": agent.name,
        "version": agent.attributes.get("version"),
        "status": view.status.value,
        "capabilities": [c.name for c in agent.capabilities],
        "lastHeartbeat": iso_seconds(view.last_seen_at) if view.heard else None,
        # As the newest heartbeat reported it (telemetry channel); None before the first.
        "resourceUsage": _resource_usage(heartbeat),
    }


def _details(view: OrchestratorAgentView, heartbeat: dict[str, Any] | None) -> dict[str, Any]:
    agent = view.agent
    return {
        **_summary(view, heartbeat),
        "workspaceId": agent.workspace_id,
        "labels": agent.attributes.get("labels") or {},
        "createdAt": iso_seconds(agent.created_at),
        # Deployment targets are not modelled yet; the key is part of the documented shape.
        "targets": [],
    }


async def _view(bus: BusClient, workspace_id: str, agent_id: Any) -> OrchestratorAgentView:
    """The agent with its status as the registry derives it; 404 for other dialects."""
    query = GetOrchestratorAgent(workspace_id=workspace_id, agent_id=agent_id)
    return OrchestratorAgentView.model_validate(await bus.request(Registry.ORCHESTRATOR_GET, query))


async def _detailed(bus: BusClient, view: OrchestratorAgentView) -> dict[str, Any]:
    heartbeats = await latest_heartbeats(bus, [view.agent.id] if view.heard else [])
    return _details(view, heartbeats.get(view.agent.id))


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
    status: OrchestratorStatus | None = None,
    capability: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Response:
    # The fleet view is the operator's; an agent sees only itself (GET /api/v1/agents/{id}).
    caller.require_operator()

    async def fetch(after: str | None, size: int) -> tuple[list[Item], str | None]:
        query = ListOrchestratorAgents(
            workspace_id=caller.workspace_id,
            after=after,
            limit=size,
            capability=capability,
            status=status,
        )
        data = await bus.request(Registry.ORCHESTRATOR_LIST, query)
        page = OrchestratorAgentPage.model_validate(data)
        # Only agents ever heard from have heartbeat telemetry.
        heartbeats = await latest_heartbeats(bus, [v.agent.id for v in page.agents if v.heard])
        return [_summary(v, heartbeats.get(v.agent.id)) for v in page.agents], page.next_after

    return await collection(fetch, limit, cursor)


@router.get("/api/v1/agents/{agent_id}")
async def get_agent(agent_id: str, caller: Caller, bus: Bus) -> dict[str, Any]:
    view = await _view(bus, caller.workspace_id, caller.target(agent_id))
    return await _detailed(bus, view)


@router.put(
    "/api/v1/agents/{agent_id}",
    responses={409: {"description": "An agent with this name already exists"}},
)
async def update_agent(agent_id: str, body: UpdateBody, caller: Caller, bus: Bus) -> dict[str, Any]:
    target = caller.target(agent_id)
    if body.labels is None and body.capabilities is None:
        raise invalid("Nothing to update: give labels and/or capabilities", field="body")
    await _view(bus, caller.workspace_id, target)
    cmd = UpdateOrchestratorAgent(
        workspace_id=caller.workspace_id,
        agent_id=target,
        labels=body.labels,
        capabilities=body.capabilities,
    )
    await bus.request(Registry.ORCHESTRATOR_UPDATE, cmd)
    return await _detailed(bus, await _view(bus, caller.workspace_id, target))


@router.delete("/api/v1/agents/{agent_id}")
async def delete_agent(agent_id: str, caller: Caller, bus: Bus) -> dict[str, Any]:
    cmd = DeleteOrchestratorAgent(
        workspace_id=caller.workspace_id, agent_id=caller.target(agent_id)
    )
    result = OrchestratorAgentDeleted.model_validate(
        await bus.request(Registry.ORCHESTRATOR_DELETE, cmd)
    )
    return {"deleted": result.deleted}
