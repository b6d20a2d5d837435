"""Seed 002 orchestrator agents (`/api/v1/agents…`): bodies and answers, as the document spells."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field

from agentplane.contracts.http.base import CamelModel
from agentplane.contracts.orchestrator import (
    MAX_CAPABILITIES,
    MAX_LABELS,
    AgentName,
    AgentVersion,
    CapabilityName,
    LabelKey,
    LabelValue,
    ReportedStatus,
)

# Utilisation in percent, as the seed shows it (cpu 15.5, memory 45.2, disk 60.0). Strict:
# "15" or true is a client bug, not a number.
Percent = Annotated[float, Field(ge=0, le=100, strict=True)]
MAX_RUNNING_TASKS = 100_000


class RegisterBody(CamelModel):
    """`POST /api/v1/agents/register` (the one-time token travels in `X-Agent-Token`)."""

    name: AgentName
    version: AgentVersion
    capabilities: list[CapabilityName] = Field(default_factory=list, max_length=MAX_CAPABILITIES)
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=MAX_LABELS)


class UpdateBody(CamelModel):
    """`PUT /api/v1/agents/{id}`: new labels and/or capabilities."""

    labels: dict[LabelKey, LabelValue] | None = Field(default=None, max_length=MAX_LABELS)
    capabilities: list[CapabilityName] | None = Field(default=None, max_length=MAX_CAPABILITIES)


class ResourceUsage(CamelModel):
    """Utilisation in percent."""

    cpu: Percent | None = None
    memory: Percent | None = None
    disk: Percent | None = None


class HeartbeatBody(CamelModel):
    """`POST /api/v1/agents/{id}/heartbeat`; only `status` is required (an agent that cannot
    measure its resources still heartbeats). Unknown fields are ignored, never kept."""

    status: Annotated[ReportedStatus, Field(strict=True)]
    resource_usage: ResourceUsage | None = None
    capabilities: list[CapabilityName] | None = Field(default=None, max_length=MAX_CAPABILITIES)
    running_tasks: int | None = Field(default=None, ge=0, le=MAX_RUNNING_TASKS, strict=True)

    def telemetry(self) -> dict[str, Any]:
        """The body as the document names its fields (`resourceUsage`, `runningTasks`)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class TaskLog(CamelModel):
    """One log line of a task."""

    timestamp: datetime
    level: str
    message: str


class CompleteTaskBody(CamelModel):
    """`POST /api/v1/agents/{id}/tasks/{taskId}/complete`."""

    success: bool
    result: dict[str, Any] = Field(default_factory=dict)
    logs: list[TaskLog] = Field(default_factory=list, max_length=10_000)


class AgentConfig(CamelModel):
    """Settings the agent is told at registration (seconds, and a log level)."""

    heartbeat_interval: int
    task_poll_interval: int
    log_level: str


class IssuedCertificate(CamelModel):
    """The agent's client certificate, its private key (shown once) and the CA."""

    cert: str
    key: str
    ca: str
    expires_at: datetime


class OrchestratorRegistration(CamelModel):
    """`POST /api/v1/agents/register` → 201."""

    agent_id: UUID
    token: str
    config: AgentConfig
    certificate: IssuedCertificate


class OrchestratorAgent(CamelModel):
    """One agent of `GET /api/v1/agents`."""

    id: UUID
    name: str
    version: str | None = None
    status: str
    capabilities: list[str] = Field(default_factory=list)
    last_heartbeat: datetime | None = None
    resource_usage: dict[str, Any] | None = None


class OrchestratorAgentDetails(OrchestratorAgent):
    """`GET`/`PUT /api/v1/agents/{id}`: full details including assigned targets."""

    workspace_id: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None
    targets: list[Any] = Field(default_factory=list)


class Deleted(CamelModel):
    """`DELETE /api/v1/agents/{id}` → `{"deleted": true}`."""

    deleted: bool


class TaskAssignment(CamelModel):
    """A task handed to an agent (heartbeat answer, task stream)."""

    task_id: str
    task_type: str
    payload: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, str] | None = None
    timeout: int | None = None
    priority: int | None = None
    created_at: datetime | None = None


class CertificateRenewal(CamelModel):
    """A renewed client certificate (within an hour of expiry, over mTLS)."""

    cert: str
    expires_at: datetime


class HeartbeatAnswer(CamelModel):
    """The heartbeat's answer: pending tasks, and a renewed certificate when due."""

    tasks: list[TaskAssignment] = Field(default_factory=list)
    certificate_renewal: CertificateRenewal | None = None


class PendingTasks(CamelModel):
    """`GET /api/v1/agents/{id}/tasks`."""

    tasks: list[TaskAssignment]


class Acknowledged(CamelModel):
    """`{"acknowledged": true}`."""

    acknowledged: bool
