"""Seed 004: the PAP agents API (`/api/agents…`, `Authorization: Bearer <workspace key>`).

Every route but the heartbeat is rate limited per workspace by tier, in the same bucket as the
workspace key's requests on the other dialects (see gateway/rate_limits.py). Heartbeats are
the control path: they are never counted against the workspace's limit nor refused by it, so
a burst of API calls or metrics cannot make an agent look dead. Creating an agent answers 201
(the document names no status). Deleting an agent twice answers the same 200 again without a
second lifecycle event.

Where each field comes from: the registry (the record), the lifecycle service (`state`,
`provisioned_at`, `activated_at`, `terminated_at`, `lifecycleEvents`, and what the provisioner
did in `deployment` and `kubernetes`), the heartbeat service (`last_heartbeat_at`, and
`recentHeartbeats`/`recentMetrics` from the telemetry stream). State changes are events, so
`state` follows a heartbeat by the time its transition is published (normally well under a
second); `last_heartbeat_at` follows at once.

Heartbeats and metrics of a terminated agent answer 409 `Agent is terminated` (the registry
decides: registry/dialects/pap_reports.py).
The list is streamed, or paged with `limit` + `cursor` (`gateway.paging`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response

from agentplane.contracts.agent_states import (
    DrainAgent,
    ProvisionAgent,
    ProvisionerReport,
)
from agentplane.contracts.errors import (
    ErrorKind,
    ServiceError,
)
from agentplane.contracts.http.pap import (
    CreateAgentBody,
    PapHeartbeatBody,
    PapMetricsBody,
)
from agentplane.contracts.liveness import (
    RecordTelemetry,
)
from agentplane.contracts.pap import (
    DEFAULT_IMAGE,
    PAP_DIALECT,
    CreatePapAgent,
    GetPapAgent,
    ListPapAgents,
    PapAgentCreated,
    PapAgentDetails,
    PapAgentList,
    PapAgentTerminated,
    PapResources,
    TerminatePapAgent,
)
from agentplane.contracts.subjects import Heartbeat, Lifecycle, Registry, Telemetry
from agentplane.gateway.app_settings import AppSettings
from agentplane.gateway.auth import Bus
from agentplane.gateway.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotency
from agentplane.gateway.liveness import record_beat
from agentplane.gateway.openapi import documented_body
from agentplane.gateway.paging import Cursor, Item, Limit, collection, paged_responses
from agentplane.gateway.pap_auth import BearerWorkspace, PapWorkspace
from agentplane.gateway.pap_reports import heartbeat_body, json_object, metrics_body
from agentplane.gateway.routers.pap_shapes import (
    PROVISIONER_UNAVAILABLE,
    agent_json,
    agent_states,
    dns_safe_name,
    heartbeat_json,
    kubernetes_status_json,
    lifecycle_json,
    metrics_json,
    parse_agent_uuid,
    read_liveness,
    recent_telemetry,
    reporting_agent,
)

router = APIRouter(tags=["PAP agents (seed 004)"])


def _bearer_key(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


@router.post(
    "/api/agents",
    status_code=201,
    responses={
        409: {"description": "An agent with this name already exists"},
        **IDEMPOTENCY_RESPONSES,
    },
)
async def create_agent(
    request: Request,
    ws: PapWorkspace,
    bus: Bus,
    body: CreateAgentBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    body = body or CreateAgentBody()
    cmd = CreatePapAgent(
        workspace_id=ws.workspace_id,
        name=dns_safe_name(body.name),
        description=body.description,
        image=body.image or DEFAULT_IMAGE,
        resources=body.resources or PapResources(),
        # A retry gets the agent as first created (NEW); provisioning below is idempotent, so
        # its `deployment` reports what the provisioner has done by then.
        idempotency=idempotency(idempotency_key, ws.workspace_id, "pap.create", body),
    )
    created = PapAgentCreated.model_validate(await bus.request(Registry.PAP_AGENT_CREATE, cmd))
    # The provisioner's own account of what it did: never a success that did not happen.
    provision = ProvisionAgent(
        workspace_id=ws.workspace_id,
        agent_id=created.agent.uuid,
        api_key=_bearer_key(request),
        image=cmd.image,
        resources=cmd.resources,
    )
    try:
        report = ProvisionerReport.model_validate(
            await bus.request(Lifecycle.AGENT_PROVISION, provision)
        )
    except ServiceError as exc:
        if exc.kind is not ErrorKind.UNAVAILABLE:
            raise
        # The agent exists (201); whether anything was deployed is not known yet.
        report = ProvisionerReport(state=None, done=False, message=PROVISIONER_UNAVAILABLE)
    agent = agent_json(created.agent)  # the agent as created (NEW), as the document shows it
    if report.kubernetes_deployment:  # where the provisioner really put it
        agent["kubernetes_namespace"] = report.kubernetes_namespace
        agent["kubernetes_deployment"] = report.kubernetes_deployment
    return {
        "agent": agent,
        "deployment": {
            "success": report.done,
            "message": report.message,
            "deploymentName": agent["kubernetes_deployment"],
        },
    }


@router.get("/api/agents", responses=paged_responses("The workspace's PAP agents, oldest first"))
async def list_agents(
    ws: PapWorkspace, bus: Bus, limit: Limit = None, cursor: Cursor = None
) -> Response:
    async def fetch(after: str | None, size: int) -> tuple[list[Item], str | None]:
        query = ListPapAgents(workspace_id=ws.workspace_id, after=after, limit=size)
        page = PapAgentList.model_validate(await bus.request(Registry.PAP_AGENT_LIST, query))
        report, states = await asyncio.gather(
            read_liveness(bus, page.agents), agent_states(bus, page.agents)
        )
        return [agent_json(a, report, states) for a in page.agents], page.next_after

    return await collection(fetch, limit, cursor)


@router.get("/api/agents/{agent_uuid}")
async def get_agent(agent_uuid: str, ws: PapWorkspace, bus: Bus) -> dict[str, Any]:
    query = GetPapAgent(workspace_id=ws.workspace_id, agent_id=parse_agent_uuid(agent_uuid))
    agent = PapAgentDetails.model_validate(await bus.request(Registry.PAP_AGENT_GET, query)).agent
    report, states, beats, metrics = await asyncio.gather(
        read_liveness(bus, [agent]),
        agent_states(bus, [agent], events=True),
        recent_telemetry(bus, agent.uuid, Telemetry.HEARTBEAT),
        recent_telemetry(bus, agent.uuid, Telemetry.METRICS),
    )
    return {
        "agent": agent_json(agent, report, states),
        "recentHeartbeats": [heartbeat_json(agent.uuid, e) for e in beats],
        "recentMetrics": [metrics_json(agent.uuid, e) for e in metrics],
        "lifecycleEvents": lifecycle_json(states.agents.get(str(agent.uuid))),
        # The Deployment's status (kubernetes provisioner); the document's null otherwise
        # ("if not deployed").
        "kubernetesStatus": kubernetes_status_json(states.agents.get(str(agent.uuid))),
    }


@router.post(
    "/api/agents/{agent_uuid}/heartbeat",
    responses={409: {"description": "The agent is terminated"}},
    openapi_extra=documented_body(PapHeartbeatBody),
)
async def heartbeat(
    agent_uuid: str, request: Request, ws: BearerWorkspace, bus: Bus, settings: AppSettings
) -> dict[str, Any]:
    """Liveness only: the heartbeat service resets the agent's deadline for its mode."""
    beat = heartbeat_body(await json_object(request))
    agent = await reporting_agent(bus, ws, agent_uuid)
    await record_beat(
        bus, settings, agent.uuid, beat.telemetry(), dialect=PAP_DIALECT, mode=beat.mode
    )
    return {"message": "Heartbeat recorded"}


@router.post(
    "/api/agents/{agent_uuid}/metrics",
    responses={409: {"description": "The agent is terminated"}},
    openapi_extra=documented_body(PapMetricsBody),
)
async def metrics(agent_uuid: str, request: Request, ws: PapWorkspace, bus: Bus) -> dict[str, Any]:
    """Resource telemetry for the agent's telemetry channel (never the control path); the
    heartbeat service answers once the stream stored it, so the details read next include it."""
    body = metrics_body(await json_object(request))
    agent = await reporting_agent(bus, ws, agent_uuid)
    record = RecordTelemetry(agent_id=agent.uuid, kind=Telemetry.METRICS, data=body)
    await bus.request(Heartbeat.TELEMETRY_RECORD, record)
    return {"message": "Metrics recorded"}


@router.delete("/api/agents/{agent_uuid}")
async def delete_agent(agent_uuid: str, ws: PapWorkspace, bus: Bus) -> dict[str, Any]:
    """DRAINING (the provisioner removes what it deployed), then TERMINATED; the record stays.

    `kubernetes` reports what the provisioner really removed: `success: false` with the reason
    when nothing had been deployed."""
    agent_id = parse_agent_uuid(agent_uuid)
    query = GetPapAgent(workspace_id=ws.workspace_id, agent_id=agent_id)
    await bus.request(Registry.PAP_AGENT_GET, query)  # 404 before anything changes
    drain = DrainAgent(workspace_id=ws.workspace_id, agent_id=agent_id)
    report = ProvisionerReport.model_validate(await bus.request(Lifecycle.AGENT_DRAIN, drain))
    cmd = TerminatePapAgent(workspace_id=ws.workspace_id, agent_id=agent_id)
    PapAgentTerminated.model_validate(await bus.request(Registry.PAP_AGENT_TERMINATE, cmd))
    return {
        "message": "Agent terminated successfully",
        "kubernetes": {"success": report.done, "message": report.message},
    }
