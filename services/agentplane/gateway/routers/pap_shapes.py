"""Seed 004's PAP agent JSON and the bus reads behind it: the record from the registry, state
and lifecycle events from the lifecycle service, liveness and recent telemetry from the
heartbeat service (the routes are in `routers/pap.py` and `routers/pap_export.py`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from agentplane.bus.requests import BusClient
from agentplane.contracts.agent_states import (
    AgentState,
    AgentStates,
    AgentStatesQuery,
    RecordedState,
)
from agentplane.contracts.errors import (
    ErrorKind,
    ServiceError,
    invalid,
    not_found,
)
from agentplane.contracts.http.pap import (
    KubernetesStatus,
)
from agentplane.contracts.liveness import (
    LivenessReport,
    TelemetryEntry,
    TelemetryList,
    TelemetryQuery,
)
from agentplane.contracts.pap import (
    DNS_LABEL_MAX,
    DNS_LABEL_PATTERN,
    GetPapAgent,
    PapAgent,
    PapAgentDetails,
)
from agentplane.contracts.subjects import Heartbeat, Lifecycle, Registry
from agentplane.contracts.workspaces import WorkspaceIdentity
from agentplane.gateway.formats import iso_seconds
from agentplane.gateway.liveness import liveness_of

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


def parse_agent_uuid(raw: str) -> UUID:
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


def kubernetes_status_json(state: AgentState | None) -> dict[str, Any] | None:
    if state is None or state.kubernetes_status is None:
        return None
    return KubernetesStatus.model_validate(state.kubernetes_status).model_dump(
        by_alias=True, mode="json"
    )


async def read_liveness(bus: BusClient, agents: list[PapAgent]) -> LivenessReport:
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


async def recent_telemetry(bus: BusClient, agent_id: UUID, kind: str) -> list[TelemetryEntry]:
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


async def reporting_agent(bus: BusClient, ws: WorkspaceIdentity, agent_uuid: str) -> PapAgent:
    """The agent a heartbeat or metrics report is for (the registry answers 404 unknown, 409
    terminated)."""
    query = GetPapAgent(workspace_id=ws.workspace_id, agent_id=parse_agent_uuid(agent_uuid))
    data = await bus.request(Registry.PAP_AGENT_REPORTING, query)
    return PapAgentDetails.model_validate(data).agent
