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
import re
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from agentplane.bus.requests import BusClient
from agentplane.contracts.agent_states import (
    AgentState,
    AgentStates,
    AgentStatesQuery,
    DrainAgent,
    ProvisionAgent,
    ProvisionerReport,
    RecordedState,
)
from agentplane.contracts.errors import (
    ErrorKind,
    ServiceError,
    invalid,
    not_found,
)
from agentplane.contracts.http.pap import (
    CreateAgentBody,
    KubernetesStatus,
    PapHeartbeatBody,
    PapMetricsBody,
)
from agentplane.contracts.liveness import (
    LivenessReport,
    RecordTelemetry,
    TelemetryEntry,
    TelemetryList,
    TelemetryQuery,
)
from agentplane.contracts.pap import (
    DEFAULT_IMAGE,
    DNS_LABEL_MAX,
    DNS_LABEL_PATTERN,
    PAP_DIALECT,
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
from agentplane.contracts.subjects import Heartbeat, Lifecycle, Registry, Telemetry
from agentplane.contracts.workspaces import WorkspaceIdentity
from agentplane.gateway.app_settings import AppSettings
from agentplane.gateway.auth import Bus
from agentplane.gateway.formats import iso_seconds
from agentplane.gateway.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotency
from agentplane.gateway.liveness import liveness_of, record_beat
from agentplane.gateway.openapi import documented_body
from agentplane.gateway.paging import Cursor, Item, Limit, collection, paged_responses
from agentplane.gateway.pap_auth import BearerWorkspace, PapWorkspace
from agentplane.gateway.pap_reports import heartbeat_body, json_object, metrics_body

router = APIRouter(tags=["PAP agents (seed 004)"])

NAME_REQUIRED = "Name is required"  # the seed's 400 messages
NAME_NOT_DNS_SAFE = "Name must be DNS-safe: lowercase alphanumeric and hyphens only"
AGENT_NOT_FOUND = "Agent not found"
PROVISIONER_UNAVAILABLE = "Agent created; the lifecycle service did not answer: not deployed yet"
RECENT, _DNS_LABEL = 10, re.compile(DNS_LABEL_PATTERN)  # "Last 10 heartbeats", "… metrics"


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


def agent_json(
    agent: PapAgent, report: LivenessReport | None = None, states: AgentStates | None = None
) -> dict[str, Any]:
    """The seed's agent object: the record, its state as the lifecycle service weighs it
    (`agent_states`) and when the heartbeat service last heard from it."""
    live = report.agents.get(str(agent.uuid)) if report else None
    state = states.agents.get(str(agent.uuid)) if states else None
    known = state or _recorded_state(agent)
    return {
        "uuid": str(agent.uuid),
        "name": agent.name,
        "dns_name": agent.dns_name,
        "state": known.state,
        "kubernetes_namespace": known.kubernetes_namespace,
        "kubernetes_deployment": known.kubernetes_deployment,
        "created_at": iso_seconds(agent.created_at),
        "provisioned_at": iso_seconds(known.provisioned_at),
        "activated_at": iso_seconds(known.activated_at),
        "terminated_at": iso_seconds(known.terminated_at),
        "last_heartbeat_at": iso_seconds(live.last_seen_at if live else agent.last_heartbeat_at),
        "metadata": agent.metadata,
    }


def _recorded(agent: PapAgent) -> RecordedState:
    # The record's state, times and placement: the fields both models name alike.
    return RecordedState(**agent.model_dump(include=set(RecordedState.model_fields)))


def _recorded_state(agent: PapAgent) -> AgentState:
    # Only a just-created agent is shown without asking the lifecycle service: its record.
    return AgentState(**_recorded(agent).model_dump())


def _kubernetes_status(state: AgentState | None) -> dict[str, Any] | None:
    if state is None or state.kubernetes_status is None:
        return None
    return KubernetesStatus.model_validate(state.kubernetes_status).model_dump(
        by_alias=True, mode="json"
    )


async def _liveness(bus: BusClient, agents: list[PapAgent]) -> LivenessReport:
    return await liveness_of(bus, [a.uuid for a in agents])


async def agent_states(bus: BusClient, agents: list[PapAgent], events: bool = False) -> AgentStates:
    """The agents' states, which the lifecycle service weighs against the registry's records."""
    if not agents:
        return AgentStates(agents={})
    query = AgentStatesQuery(
        agent_ids=[a.uuid for a in agents],
        include_events=events,
        recorded={str(a.uuid): _recorded(a) for a in agents},
    )
    return AgentStates.model_validate(await bus.request(Lifecycle.AGENT_STATES, query))


async def _telemetry(bus: BusClient, agent_id: UUID, kind: str) -> list[TelemetryEntry]:
    """The newest messages of the agent's telemetry channel; none when it cannot answer (a
    side channel: the details never fail because of it)."""
    query = TelemetryQuery(agent_id=agent_id, kind=kind, limit=RECENT)
    try:
        data = await bus.request(Heartbeat.TELEMETRY_RECENT, query)
    except ServiceError as exc:
        if exc.kind is not ErrorKind.UNAVAILABLE:
            raise
        return []
    return TelemetryList.model_validate(data).entries


def heartbeat_json(agent_id: UUID, entry: TelemetryEntry) -> dict[str, Any]:
    return {
        "id": str(entry.sequence),
        "agent_uuid": str(agent_id),
        "mode": entry.data.get("mode"),
        "uptime_seconds": entry.data.get("uptime_seconds"),
        "timestamp": iso_seconds(entry.received_at),
    }


def metrics_json(agent_id: UUID, entry: TelemetryEntry) -> dict[str, Any]:
    return {
        "id": str(entry.sequence),
        "agent_uuid": str(agent_id),
        "cpu_percent": entry.data.get("cpu_percent"),
        "memory_mb": entry.data.get("memory_mb"),
        "requests_handled": entry.data.get("requests_handled"),
        "custom_metrics": entry.data.get("custom_metrics") or {},
        "timestamp": iso_seconds(entry.received_at),
    }


def _metadata_json(metadata: dict[str, Any]) -> dict[str, Any]:
    # Timestamps in metadata take the document's form too.
    seen = metadata.get("last_heartbeat_at")
    if isinstance(seen, str):
        return {**metadata, "last_heartbeat_at": iso_seconds(datetime.fromisoformat(seen))}
    return metadata


def lifecycle_json(state: AgentState | None) -> list[dict[str, Any]]:
    return [
        {
            "id": e.id,
            "agent_uuid": str(e.agent_uuid),
            "event_type": e.event_type,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "metadata": _metadata_json(e.metadata),
            "timestamp": iso_seconds(e.timestamp),
        }
        for e in (state.events if state else [])
    ]


async def _reporting_agent(bus: BusClient, ws: WorkspaceIdentity, agent_uuid: str) -> PapAgent:
    """The agent a heartbeat or metrics report is for (the registry answers 404 unknown, 409
    terminated)."""
    query = GetPapAgent(workspace_id=ws.workspace_id, agent_id=_agent_id(agent_uuid))
    data = await bus.request(Registry.PAP_AGENT_REPORTING, query)
    return PapAgentDetails.model_validate(data).agent


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
            _liveness(bus, page.agents), agent_states(bus, page.agents)
        )
        return [agent_json(a, report, states) for a in page.agents], page.next_after

    return await collection(fetch, limit, cursor)


@router.get("/api/agents/{agent_uuid}")
async def get_agent(agent_uuid: str, ws: PapWorkspace, bus: Bus) -> dict[str, Any]:
    query = GetPapAgent(workspace_id=ws.workspace_id, agent_id=_agent_id(agent_uuid))
    agent = PapAgentDetails.model_validate(await bus.request(Registry.PAP_AGENT_GET, query)).agent
    report, states, beats, metrics = await asyncio.gather(
        _liveness(bus, [agent]),
        agent_states(bus, [agent], events=True),
        _telemetry(bus, agent.uuid, Telemetry.HEARTBEAT),
        _telemetry(bus, agent.uuid, Telemetry.METRICS),
    )
    return {
        "agent": agent_json(agent, report, states),
        "recentHeartbeats": [heartbeat_json(agent.uuid, e) for e in beats],
        "recentMetrics": [metrics_json(agent.uuid, e) for e in metrics],
        "lifecycleEvents": lifecycle_json(states.agents.get(str(agent.uuid))),
        # The Deployment's status (kubernetes provisioner); the document's null otherwise
        # ("if not deployed").
        "kubernetesStatus": _kubernetes_status(states.agents.get(str(agent.uuid))),
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
    agent = await _reporting_agent(bus, ws, agent_uuid)
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
    agent = await _reporting_agent(bus, ws, agent_uuid)
    record = RecordTelemetry(agent_id=agent.uuid, kind=Telemetry.METRICS, data=body)
    await bus.request(Heartbeat.TELEMETRY_RECORD, record)
    return {"message": "Metrics recorded"}


@router.delete("/api/agents/{agent_uuid}")
async def delete_agent(agent_uuid: str, ws: PapWorkspace, bus: Bus) -> dict[str, Any]:
    """DRAINING (the provisioner removes what it deployed), then TERMINATED; the record stays.

    `kubernetes` reports what the provisioner really removed: `success: false` with the reason
    when nothing had been deployed."""
    agent_id = _agent_id(agent_uuid)
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
