"""Seed 002: the orchestrator agent's heartbeat (`POST /api/v1/agents/{id}/heartbeat`).

Only the agent itself heartbeats (bearer JWT or its mTLS client certificate). One beat:
1. the registry records what changed in what the agent reports (its status, its capability
   set) — most beats change nothing and save nothing;
2. the heartbeat service resets the agent's deadline (its policy: `heartbeat_missed_beats` (3)
   times `heartbeatInterval` from now) and keeps the body on the agent's telemetry channel;
3. over mTLS, a certificate within the renewal window is renewed (`certificateRenewal`);
4. the answer carries the agent's pending tasks.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import AgentRecord, GetAgent
from agentplane.contracts.errors import ErrorKind, ServiceError, forbidden, not_found
from agentplane.contracts.http.orchestrator import HeartbeatBody
from agentplane.contracts.orchestrator import (
    ORCHESTRATOR_DIALECT,
    SyncOrchestratorHeartbeat,
)
from agentplane.contracts.subjects import Registry
from agentplane.contracts.tasks import TaskVia
from agentplane.gateway.app_settings import AppSettings
from agentplane.gateway.auth import Bus
from agentplane.gateway.certificate_renewal import certificate_renewal
from agentplane.gateway.liveness import record_beat
from agentplane.gateway.orchestrator_auth import (
    AGENT_NOT_FOUND,
    NOT_AUTHORIZED,
    Caller,
    OrchestratorCaller,
)
from agentplane.gateway.routers.tasks_shapes import assignment_json, claim

router = APIRouter(tags=["orchestrator agents (seed 002)"])
log = logging.getLogger("agentplane.gateway.heartbeat")


async def _heartbeat_target(caller: OrchestratorCaller, bus: BusClient, raw_id: str) -> UUID:
    """The agent whose heartbeat this is: the caller itself, else 403 (another agent, or the
    operator, who may not speak for an agent) or 404 (no such agent in the workspace)."""
    if caller.agent_id is not None:
        return caller.target(raw_id)
    try:
        agent_id = UUID(raw_id)
    except ValueError:
        raise not_found(AGENT_NOT_FOUND) from None
    agent = AgentRecord.model_validate(
        await bus.request(
            Registry.AGENT_GET, GetAgent(workspace_id=caller.workspace_id, agent_id=agent_id)
        )
    )
    if agent.dialect != ORCHESTRATOR_DIALECT:
        raise not_found(AGENT_NOT_FOUND)
    raise forbidden(NOT_AUTHORIZED)


async def pending_tasks(bus: BusClient, workspace_id: str, agent_id: UUID) -> list[dict[str, Any]]:
    """The agent's pending tasks, in the documented shape (`taskId`, `taskType`, `payload`,
    `credentials`, `timeout`), highest priority first, then oldest. Each is leased to the
    agent from now on (see `routers/tasks_agent.py`). This is the one place the heartbeat
    asks for tasks. Liveness does not depend on the messaging service: while it is
    unreachable the beat is recorded and answers no tasks."""
    try:
        tasks = await claim(bus, workspace_id, agent_id, TaskVia.HEARTBEAT)
    except ServiceError as exc:
        if exc.kind is not ErrorKind.UNAVAILABLE:
            raise
        log.warning("no tasks in a heartbeat answer: %s", exc.body.message)
        return []
    return [assignment_json(t) for t in tasks]


@router.post("/api/v1/agents/{agent_id}/heartbeat")
async def heartbeat(
    agent_id: str,
    body: HeartbeatBody,
    caller: Caller,
    request: Request,
    bus: Bus,
    settings: AppSettings,
) -> dict[str, Any]:
    target = await _heartbeat_target(caller, bus, agent_id)
    await bus.request(
        Registry.ORCHESTRATOR_HEARTBEAT_SYNC,
        SyncOrchestratorHeartbeat(
            workspace_id=caller.workspace_id,
            agent_id=target,
            status=body.status,
            capabilities=body.capabilities,
        ),
    )
    _, renewal, tasks = await asyncio.gather(
        record_beat(bus, settings, target, body.telemetry(), dialect=ORCHESTRATOR_DIALECT),
        certificate_renewal(request, bus, target),
        pending_tasks(bus, caller.workspace_id, target),
    )
    response: dict[str, Any] = {"tasks": tasks}
    if renewal is not None:
        response["certificateRenewal"] = renewal
    return response
