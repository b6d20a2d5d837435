"""Wire models of orchestrator agents (seed 002): registration, JWT and certificate checks,
updates, deletion and certificate renewal."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.idempotency import Idempotency

ORCHESTRATOR_DIALECT = "orchestrator"

# Bounds keep one registration a small event; the seed gives no numbers.
MAX_CAPABILITIES = 50
MAX_LABELS = 64
CapabilityName = Annotated[str, Field(min_length=1, max_length=64)]
LabelKey = Annotated[str, Field(min_length=1, max_length=63)]
LabelValue = Annotated[str, Field(max_length=255)]
AgentName = Annotated[str, Field(min_length=1, max_length=100)]
AgentVersion = Annotated[str, Field(min_length=1, max_length=64)]


class OrchestratorConfig(BaseModel):
    """Settings the agent is told to use at registration."""

    model_config = ConfigDict(frozen=True)

    heartbeat_interval: int
    task_poll_interval: int
    log_level: str


class RegisterOrchestratorAgent(BaseModel):
    """Register with a one-time token; the caller keeps the private key of `public_key_pem`."""

    model_config = ConfigDict(frozen=True)

    registration_token: str = Field(max_length=512)
    name: AgentName
    version: AgentVersion
    capabilities: list[CapabilityName] = Field(default_factory=list, max_length=MAX_CAPABILITIES)
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=MAX_LABELS)
    public_key_pem: str = Field(max_length=4096)
    # A retry with the same Idempotency-Key gets the first answer, never a second agent. The
    # gateway generated the key pair: its private key is kept with the stored answer
    # (encrypted, erased after 24 h) so that the retry gets the key of the certificate.
    idempotency: Idempotency | None = None
    private_key_pem: str | None = Field(default=None, max_length=8192)


class OrchestratorCertificate(BaseModel):
    """A client certificate issued by the internal CA (never with its private key)."""

    model_config = ConfigDict(frozen=True)

    cert: str
    ca: str
    serial: str
    expires_at: datetime


class OrchestratorAgentRegistered(BaseModel):
    """The new agent, its bearer JWT (shown once) and its certificate."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    workspace_id: str
    token: str
    token_expires_at: datetime
    config: OrchestratorConfig
    certificate: OrchestratorCertificate
    # Only with an Idempotency-Key: the private key the registration was made with.
    private_key_pem: str | None = None


class AuthenticateOrchestratorToken(BaseModel):
    """Check an agent's bearer JWT: signature, expiry, and that it is still a live credential."""

    model_config = ConfigDict(frozen=True)

    token: str = Field(max_length=4096)


class AuthenticateOrchestratorCertificate(BaseModel):
    """Check that a client certificate (already verified against the CA) is not revoked."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    serial: str = Field(min_length=1, max_length=64)


class UpdateOrchestratorAgent(BaseModel):
    """Replace an agent's labels and/or capabilities (None leaves one unchanged)."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    labels: dict[LabelKey, LabelValue] | None = Field(default=None, max_length=MAX_LABELS)
    capabilities: list[CapabilityName] | None = Field(default=None, max_length=MAX_CAPABILITIES)


class DeleteOrchestratorAgent(BaseModel):
    """Remove an agent's registration and revoke every credential it holds."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID


class OrchestratorAgentDeleted(BaseModel):
    """The agent is gone; none of its tokens or certificates work any more."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    deleted: bool = True


class RenewOrchestratorCertificate(BaseModel):
    """Renew the agent's current client certificate if it expires within the renewal window."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    cert_pem: str = Field(max_length=8192)


class OrchestratorCertificateRenewal(BaseModel):
    """The new certificate (same key), or None while the current one is not due."""

    model_config = ConfigDict(frozen=True)

    renewal: OrchestratorCertificate | None = None


# -- heartbeats ------------------------------------------------------------------------------

ReportedStatus = Annotated[str, Field(min_length=1, max_length=64)]


class SyncOrchestratorHeartbeat(BaseModel):
    """The registry's part of a seed 002 heartbeat: record the reported status and capability
    set when they differ from the recorded ones (None leaves capabilities as they are)."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    status: ReportedStatus
    capabilities: list[CapabilityName] | None = Field(default=None, max_length=MAX_CAPABILITIES)


class OrchestratorHeartbeatSynced(BaseModel):
    """What the heartbeat changed in the registry (usually nothing)."""

    model_config = ConfigDict(frozen=True)

    status_changed: bool = False
    capabilities_changed: bool = False
