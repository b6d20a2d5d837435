"""Wire models of agents in the registry (seed 000 registry basics)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.idempotency import Idempotency
from agentplane.contracts.paging import PageQuery


class ClientType(StrEnum):
    """The tool requesting an agent token (seed 000 provision)."""

    CURSOR = "cursor"
    WINDSURF = "windsurf"
    COPILOT = "copilot"
    CLINE = "cline"
    AIDER = "aider"
    CONTINUE = "continue"
    BOLT = "bolt"
    V0 = "v0"
    REPLIT = "replit"
    CUSTOM = "custom"


class Capability(BaseModel):
    """A named capability with free-form metadata."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=100)
    metadata: dict[str, Any] = Field(default_factory=dict)


class ServiceRef(BaseModel):
    """A service an agent exposes, as shown in agent details."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    target_port: int
    status: str


class ProvisionAgent(BaseModel):
    """Create an agent with a short-lived token for an AI runtime."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    client_type: ClientType
    label: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=100)
    ttl_seconds: int = Field(default=7200, ge=60, le=86400)
    idempotency: Idempotency | None = None  # from the Idempotency-Key header


class AgentProvisioned(BaseModel):
    """A provisioned agent and its token, shown exactly once."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    token: str
    expires_at: datetime
    workspace_id: str
    workspace_name: str


class RegisterAgent(BaseModel):
    """Register an agent under a UUID with a pre-generated token."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    token: str = Field(min_length=32, max_length=512)
    label: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=100)


class AuthenticateAgent(BaseModel):
    """Check an agent's token."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    token: str = Field(max_length=512)


class AgentIdentity(BaseModel):
    """An authenticated agent."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    workspace_id: str
    # When the presented token stops working (caches must not trust it longer).
    token_expires_at: datetime | None = None


class ListAgents(PageQuery):
    """A page of the agents of a workspace, oldest first; `dialect` and `capability` (exact
    name) filter it (a filtered page may be short: only `next_after` None ends the list)."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    dialect: str | None = Field(default=None, max_length=32)
    capability: str | None = Field(default=None, max_length=100)


class GetAgent(BaseModel):
    """One agent of a workspace; not_found for another workspace's agent."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID


class AgentRecord(BaseModel):
    """The registry's read model of an agent; never holds a secret or its hash."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    workspace_id: str
    name: str | None = None
    label: str | None = None
    client_type: ClientType | None = None
    registered: bool
    dialect: str = "v1"
    attributes: dict[str, Any] = Field(default_factory=dict)
    deleted: bool = False
    terminated_at: datetime | None = None
    created_at: datetime
    token_prefix: str
    token_expires_at: datetime | None = None
    capabilities: list[Capability] = Field(default_factory=list)
    services: list[ServiceRef] = Field(default_factory=list)


class EnrollmentKind(StrEnum):
    """What a one-time token admits: seed 002 registration or seed 003 enrollment."""

    REGISTRATION = "registration"
    ENROLLMENT = "enrollment"


class IssueEnrollmentToken(BaseModel):
    """Issue a single-use registration or enrollment token for a workspace."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    kind: EnrollmentKind
    ttl_seconds: int = Field(default=86400, ge=60, le=30 * 86400)
    idempotency: Idempotency | None = None  # from the Idempotency-Key header


class EnrollmentTokenIssued(BaseModel):
    """The token, shown exactly once."""

    model_config = ConfigDict(frozen=True)

    token: str
    kind: EnrollmentKind
    expires_at: datetime


class ListAgentSummaries(PageQuery):
    """A page of the agents of a workspace, oldest first, as summaries (what a plain list
    shows: far less to send and decode per agent than whole records)."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str


class AgentSummary(BaseModel):
    """An agent as a plain list shows it."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    name: str | None = None
    label: str | None = None
    created_at: datetime


class AgentSummaryList(BaseModel):
    """A page of agent summaries, oldest first; `next_after` None on the last page."""

    model_config = ConfigDict(frozen=True)

    agents: list[AgentSummary]
    next_after: str | None = None


class AgentList(BaseModel):
    """A page of agents of a workspace, oldest first; `next_after` None on the last page."""

    model_config = ConfigDict(frozen=True)

    agents: list[AgentRecord]
    next_after: str | None = None
