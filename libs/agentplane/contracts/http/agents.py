"""Seed 000 agents (`/v1/agents…`): request bodies and answers, named as the document names them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, field_validator

from agentplane.contracts.agent_credentials import MAX_CAPABILITIES
from agentplane.contracts.agents import ClientType
from agentplane.contracts.http.base import CamelModel

# Bounds keep one agent's capability set a small event; the doc gives no numbers.
MAX_METADATA_JSON = 4096
Label = Annotated[str, Field(max_length=100)]


class ProvisionBody(CamelModel):
    """`POST /v1/agents/provision`: a short-lived agent token for an AI runtime."""

    client_type: ClientType
    label: Label | None = None
    name: Label | None = None
    ttl_seconds: int = Field(default=7200, ge=60, le=86400)


class RegisterBody(CamelModel):
    """`POST /v1/agents/register`: an agent with a pre-generated token."""

    agent_id: UUID
    token: str = Field(min_length=32, max_length=512)
    label: Label | None = None
    name: Label | None = None


class AgentHeartbeatBody(CamelModel):
    """`POST /v1/agents/heartbeat`: the agent proves itself with its token."""

    agent_id: UUID
    token: str = Field(min_length=1, max_length=512)


class RotateTokenBody(CamelModel):
    """`POST /v1/agents/rotate-token`: a new token for the current valid one."""

    agent_id: UUID
    current_token: str = Field(min_length=1, max_length=512)


class CapabilityBody(CamelModel):
    """One capability: a name and free-form metadata (at most 4 KiB of JSON)."""

    name: str = Field(min_length=1, max_length=100)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("metadata")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, separators=(",", ":"))) > MAX_METADATA_JSON:
            raise ValueError(f"metadata must be at most {MAX_METADATA_JSON} bytes of JSON")
        return value


class CapabilitiesBody(CamelModel):
    """`POST /v1/agents/{id}/capabilities`: the agent's whole capability set."""

    capabilities: list[CapabilityBody] = Field(max_length=MAX_CAPABILITIES)

    @field_validator("capabilities")
    @classmethod
    def _unique(cls, value: list[CapabilityBody]) -> list[CapabilityBody]:
        names = [c.name for c in value]
        if len(set(names)) != len(names):
            raise ValueError("capability names must be unique")
        return value


class ProvisionedAgent(CamelModel):
    """A provisioned agent and its token (shown once)."""

    agent_id: UUID
    token: str
    expires_at: datetime
    workspace_id: str
    workspace_name: str


class RegisteredAgent(CamelModel):
    """The agent a registration created."""

    id: UUID
    name: str | None = None
    label: str | None = None
    workspace_id: str
    created_at: datetime


class Registration(CamelModel):
    """`POST /v1/agents/register` → `{"success", "agent"}`."""

    success: bool
    agent: RegisteredAgent


class RotatedToken(CamelModel):
    """The agent's new token (shown once) and when it expires."""

    success: bool
    new_token: str
    expires_at: datetime


class CapabilityView(CamelModel):
    """A capability as agent views show it."""

    name: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class ServiceSummary(CamelModel):
    """A service an agent exposes, as agent views show it."""

    id: str
    name: str
    target_port: int | None = None
    status: str | None = None


class AgentSummary(CamelModel):
    """One agent of `GET /v1/agents` and `GET /v1/agents/online`."""

    id: UUID
    name: str | None = None
    label: str | None = None
    is_online: bool
    last_seen_at: datetime | None = None
    created_at: datetime


class AgentDetails(AgentSummary):
    """`GET /v1/agents/{id}`."""

    workspace_id: str
    capabilities: list[CapabilityView] = Field(default_factory=list)
    services: list[ServiceSummary] = Field(default_factory=list)


class CapabilitiesSet(CamelModel):
    """The capability set an agent has now."""

    success: bool
    capabilities: list[CapabilityView]


class AgentWithCapability(CamelModel):
    """An agent found by capability, with that capability."""

    id: UUID
    name: str | None = None
    is_online: bool
    capability: CapabilityView


class AgentsByCapability(CamelModel):
    """`GET /v1/agents/by-capability/{name}`."""

    agents: list[AgentWithCapability]


class OrchestrationAgent(CamelModel):
    """One agent of the orchestration view, with its capabilities and services."""

    id: UUID
    name: str | None = None
    label: str | None = None
    is_online: bool
    last_seen_at: datetime | None = None
    capabilities: list[CapabilityView] = Field(default_factory=list)
    services: list[ServiceSummary] = Field(default_factory=list)


class OrchestrationView(CamelModel):
    """`GET /v1/agents/orchestration`."""

    agents: list[OrchestrationAgent]


class AuditEntry(CamelModel):
    """One security audit log entry of an agent."""

    id: str
    action: str
    timestamp: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)


class AuditLogs(CamelModel):
    """`GET /v1/agents/{id}/audit-logs`."""

    logs: list[AuditEntry]


class ExpiringAgentToken(CamelModel):
    """An agent whose token expires soon."""

    id: UUID
    name: str | None = None
    token_expires_at: datetime
    hours_until_expiry: float


class ExpiringTokens(CamelModel):
    """`GET /v1/agents/expiring-tokens`."""

    agents: list[ExpiringAgentToken]
