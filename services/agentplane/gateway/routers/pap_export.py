"""Seed 004 export: `POST /api/agents/{uuid}/export`, the agent's complete data in one answer.

`agent` is the same object list and details show; `heartbeats` and `metrics` are the newest
`telemetry_limit` records of the telemetry stream, newest first (left out entirely with
`include_telemetry: false`); `lifecycle_events` is the whole history, newest first.
`metadata.total_heartbeats`/`total_metrics` count what the telemetry stream holds for the agent
(it keeps the newest 1,000 of each kind for at most 7 days), so they may exceed the records
exported. `metadata.triggered_by` names who asked: agentplane keys belong to workspaces, not
users, so it is the id of the workspace whose key made the request.

Unlike the details view, an export that cannot read the telemetry stream fails (503) instead
of answering without it: a backup that silently lacks data would lie.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter

from agentplane.bus.requests import BusClient
from agentplane.contracts.errors import not_found
from agentplane.contracts.http.pap import (
    EXPORT_TELEMETRY_LIMIT_MAX,
    EXPORT_TELEMETRY_LIMIT_MIN,
    ExportBody,
)
from agentplane.contracts.liveness import TelemetryList, TelemetryQuery
from agentplane.contracts.pap import GetPapAgent, PapAgentDetails
from agentplane.contracts.subjects import Heartbeat, Registry, Telemetry
from agentplane.gateway.auth import Bus
from agentplane.gateway.formats import iso_seconds
from agentplane.gateway.liveness import liveness_of
from agentplane.gateway.pap_auth import PapWorkspace
from agentplane.gateway.routers.pap_shapes import (
    AGENT_NOT_FOUND,
    agent_json,
    agent_states,
    heartbeat_json,
    lifecycle_json,
    metrics_json,
)

router = APIRouter(tags=["PAP agents (seed 004)"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "description": (
            "Invalid body: include_telemetry must be a boolean, telemetry_limit an integer "
            f"from {EXPORT_TELEMETRY_LIMIT_MIN} to {EXPORT_TELEMETRY_LIMIT_MAX}"
        )
    },
    401: {"description": "Unauthorized (missing or invalid API key)"},
    404: {"description": AGENT_NOT_FOUND},
    429: {"description": "Rate limit of the workspace's tier exceeded"},
    503: {"description": "A service (or the telemetry stream) is unavailable; try again"},
}


def _agent_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise not_found(AGENT_NOT_FOUND) from None


async def _telemetry(bus: BusClient, agent_id: UUID, kind: str, limit: int) -> TelemetryList:
    query = TelemetryQuery(agent_id=agent_id, kind=kind, limit=limit)
    return TelemetryList.model_validate(await bus.request(Heartbeat.TELEMETRY_RECENT, query))


@router.post("/api/agents/{agent_uuid}/export", responses=RESPONSES)
async def export_agent(
    agent_uuid: str, ws: PapWorkspace, bus: Bus, body: ExportBody | None = None
) -> dict[str, Any]:
    """Export the agent with its lifecycle history and (by default) its telemetry history."""
    body = body or ExportBody()
    query = GetPapAgent(workspace_id=ws.workspace_id, agent_id=_agent_id(agent_uuid))
    agent = PapAgentDetails.model_validate(await bus.request(Registry.PAP_AGENT_GET, query)).agent
    # Without telemetry one record of each kind is read, for the totals only.
    limit = body.telemetry_limit if body.include_telemetry else 1
    report, states, beats, metrics = await asyncio.gather(
        liveness_of(bus, [agent.uuid]),
        agent_states(bus, [agent], events=True),
        _telemetry(bus, agent.uuid, Telemetry.HEARTBEAT, limit),
        _telemetry(bus, agent.uuid, Telemetry.METRICS, limit),
    )
    exported: dict[str, Any] = {"agent": agent_json(agent, report, states)}
    if body.include_telemetry:
        exported["heartbeats"] = [heartbeat_json(agent.uuid, e) for e in beats.entries]
        exported["metrics"] = [metrics_json(agent.uuid, e) for e in metrics.entries]
    exported["lifecycle_events"] = lifecycle_json(states.agents.get(str(agent.uuid)))
    exported["metadata"] = {
        "exported_at": iso_seconds(datetime.now(UTC)),
        "triggered_by": ws.workspace_id,
        "total_heartbeats": beats.total if beats.total is not None else len(beats.entries),
        "total_metrics": metrics.total if metrics.total is not None else len(metrics.entries),
    }
    return exported
