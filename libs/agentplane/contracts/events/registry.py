"""The registry service's integration events: the public form of what it records."""

from __future__ import annotations

from typing import Any, ClassVar

from agentplane.contracts.events.public import Instant, PublicEvent


class AgentApiKeyDelivered(PublicEvent):
    """A new API key went out in a heartbeat response; only its prefix is public."""

    TYPE: ClassVar[str] = "agent.ApiKeyDelivered"
    key_prefix: str
    at: Instant


class AgentApiKeyRotationCompleted(PublicEvent):
    """The agent used its new API key; older keys stopped working."""

    TYPE: ClassVar[str] = "agent.ApiKeyRotationCompleted"
    key_prefix: str


class AgentApiKeyRotationRequested(PublicEvent):
    """An operator asked for a new API key; the agent gets it with its next heartbeat."""

    TYPE: ClassVar[str] = "agent.ApiKeyRotationRequested"
    at: Instant


class AgentAttributesUpdated(PublicEvent):
    """Public attributes changed (labels, version, …): the keys given replace old values."""

    TYPE: ClassVar[str] = "agent.AttributesUpdated"
    changes: dict[str, Any]


class AgentCapabilitiesReplaced(PublicEvent):
    """The agent's capability set, replaced as a whole."""

    TYPE: ClassVar[str] = "agent.CapabilitiesReplaced"
    capabilities: list[dict[str, Any]]


class AgentCredentialIssued(PublicEvent):
    """A further credential (JWT id, certificate serial, API key, …) for the agent."""

    TYPE: ClassVar[str] = "agent.CredentialIssued"
    kind: str
    credential_id: str
    prefix: str | None
    expires_at: Instant | None


class AgentCredentialRevoked(PublicEvent):
    """One credential of the agent stopped working."""

    TYPE: ClassVar[str] = "agent.CredentialRevoked"
    credential_id: str
    reason: str


class AgentCredentialsRevoked(PublicEvent):
    """Every credential of the agent, of every generation, stopped working."""

    TYPE: ClassVar[str] = "agent.CredentialsRevoked"
    reason: str


class AgentDeleted(PublicEvent):
    """The registration was removed (seed 002); its credentials are revoked with it."""

    TYPE: ClassVar[str] = "agent.Deleted"


class AgentEnrolled(PublicEvent):
    """An agent enrolled through a dialect: seed 002 (orchestrator), 003 (device), 004 (PAP)."""

    TYPE: ClassVar[str] = "agent.Enrolled"
    workspace_id: str
    dialect: str
    name: str | None
    label: str | None
    token_prefix: str
    token_expires_at: Instant | None
    attributes: dict[str, Any]


class AgentProvisioned(PublicEvent):
    """An agent was provisioned with a server-issued, short-lived token (seed 000)."""

    TYPE: ClassVar[str] = "agent.Provisioned"
    workspace_id: str
    client_type: str
    name: str | None
    label: str | None
    token_prefix: str
    token_expires_at: Instant


class AgentReconnected(PublicEvent):
    """The agent came back after a gap and said why and when its process started."""

    TYPE: ClassVar[str] = "agent.Reconnected"
    reason: str
    process_start_time: Instant | None
    reported_at: Instant


class AgentRegistered(PublicEvent):
    """An agent registered under a caller-chosen UUID and token (seed 000)."""

    TYPE: ClassVar[str] = "agent.Registered"
    workspace_id: str
    name: str | None
    label: str | None
    token_prefix: str
    token_expires_at: Instant | None


class AgentRegistrationCompleted(PublicEvent):
    """A provisioned agent registered itself with its provisioned token."""

    TYPE: ClassVar[str] = "agent.RegistrationCompleted"
    name: str | None
    label: str | None


class AgentTerminated(PublicEvent):
    """The agent was terminated by its owner (seed 004); the record stays for audit."""

    TYPE: ClassVar[str] = "agent.Terminated"
    at: Instant


class AgentTokenRotated(PublicEvent):
    """The agent's primary token was replaced; the old one stopped working."""

    TYPE: ClassVar[str] = "agent.TokenRotated"
    old_token_prefix: str
    token_prefix: str
    token_expires_at: Instant | None
