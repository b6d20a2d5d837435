"""Seed 004 PAP agents (`/api/agents…`): bodies and answers, snake_case as the document has it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field

from agentplane.contracts.http.base import SnakeModel
from agentplane.contracts.pap import PapResources

HeartbeatMode = Literal["EMERGENCY", "IDLE", "SLEEP"]


class CreateAgentBody(SnakeModel):
    """`POST /api/agents`; `name` is checked by the gateway, which answers the document's
    messages ("Name is required", "Name must be DNS-safe…")."""

    name: Any = None
    description: str | None = Field(default=None, max_length=1000)
    image: str | None = Field(default=None, max_length=512)
    resources: PapResources | None = None


class PapHeartbeatBody(SnakeModel):
    """`POST /api/agents/{uuid}/heartbeat`: liveness only (mode and uptime, nothing else)."""

    mode: HeartbeatMode
    uptime_seconds: float = Field(ge=0)


class PapMetricsBody(SnakeModel):
    """`POST /api/agents/{uuid}/metrics`: resource telemetry, apart from heartbeats."""

    cpu_percent: float = Field(ge=0, le=100)
    memory_mb: float = Field(ge=0)
    requests_handled: int = Field(ge=0)
    custom_metrics: dict[str, Any] | None = None


# Bounds of `telemetry_limit`: the telemetry stream keeps at most this many per agent and kind.
EXPORT_TELEMETRY_LIMIT_MIN = 1
EXPORT_TELEMETRY_LIMIT_MAX = 1000
EXPORT_TELEMETRY_LIMIT_DEFAULT = 100


class ExportBody(SnakeModel):
    """`POST /api/agents/{uuid}/export`: with telemetry (the newest `telemetry_limit` heartbeats
    and metric reports, 1 to 1000) or without."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, strict=True)

    include_telemetry: bool = True
    telemetry_limit: int = Field(
        default=EXPORT_TELEMETRY_LIMIT_DEFAULT,
        ge=EXPORT_TELEMETRY_LIMIT_MIN,
        le=EXPORT_TELEMETRY_LIMIT_MAX,
    )


class ManagedAgent(SnakeModel):
    """A PAP agent as list, create and details show it."""

    uuid: UUID
    name: str
    dns_name: str
    state: str
    kubernetes_namespace: str | None = None
    kubernetes_deployment: str | None = None
    created_at: datetime
    provisioned_at: datetime | None = None
    activated_at: datetime | None = None
    terminated_at: datetime | None = None
    last_heartbeat_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Deployment(SnakeModel):
    """The deployment part of a create answer."""

    success: bool
    message: str
    deployment_name: str | None = Field(default=None, alias="deploymentName")


class ManagedAgentCreated(SnakeModel):
    """`POST /api/agents` → the agent (state NEW) and its deployment."""

    agent: ManagedAgent
    deployment: Deployment


class HeartbeatRecord(SnakeModel):
    """One recent heartbeat."""

    id: str
    agent_uuid: UUID
    mode: str | None = None
    uptime_seconds: float | None = None
    timestamp: datetime


class MetricsRecord(SnakeModel):
    """One recent metrics report."""

    id: str
    agent_uuid: UUID
    cpu_percent: float | None = None
    memory_mb: float | None = None
    requests_handled: int | None = None
    custom_metrics: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime


class LifecycleEvent(SnakeModel):
    """One lifecycle transition."""

    id: str
    agent_uuid: UUID
    event_type: str
    from_state: str | None = None
    to_state: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime


class KubernetesCondition(SnakeModel):
    """A deployment condition as Kubernetes reports it."""

    type: str
    status: str
    reason: str | None = None
    message: str | None = None


class KubernetesStatus(SnakeModel):
    """Real-time deployment status."""

    ready: bool
    replicas: int | None = None
    ready_replicas: int | None = Field(default=None, alias="readyReplicas")
    unavailable_replicas: int | None = Field(default=None, alias="unavailableReplicas")
    conditions: list[KubernetesCondition] = Field(default_factory=list)


class ManagedAgentDetails(SnakeModel):
    """`GET /api/agents/{uuid}`: the agent, recent telemetry and lifecycle history."""

    agent: ManagedAgent
    recent_heartbeats: list[HeartbeatRecord] = Field(alias="recentHeartbeats")
    recent_metrics: list[MetricsRecord] = Field(alias="recentMetrics")
    lifecycle_events: list[LifecycleEvent] = Field(alias="lifecycleEvents")
    kubernetes_status: KubernetesStatus | None = Field(default=None, alias="kubernetesStatus")


class Recorded(SnakeModel):
    """`{"message": "Heartbeat recorded"}` and `{"message": "Metrics recorded"}`."""

    message: str


class KubernetesCleanup(SnakeModel):
    """What the delete did in Kubernetes."""

    success: bool
    message: str


class ManagedAgentTerminated(SnakeModel):
    """`DELETE /api/agents/{uuid}`."""

    message: str
    kubernetes: KubernetesCleanup


class ExportMetadata(SnakeModel):
    """When and by whom an export was made, and how much telemetry exists."""

    exported_at: datetime
    triggered_by: str | None = None
    total_heartbeats: int | None = None
    total_metrics: int | None = None


class AgentExport(SnakeModel):
    """`POST /api/agents/{uuid}/export`: the agent's complete data."""

    agent: ManagedAgent
    heartbeats: list[dict[str, Any]] = Field(default_factory=list)
    metrics: list[dict[str, Any]] = Field(default_factory=list)
    lifecycle_events: list[dict[str, Any]] = Field(default_factory=list)
    metadata: ExportMetadata
