"""The registry_workspace service's integration events: the public form of what it records."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from agentplane.contracts.events.public import Instant, PublicEvent


class AgentNameClaimed(PublicEvent):
    """A name in a workspace was claimed for an agent."""

    TYPE: ClassVar[str] = "agent_name.Claimed"
    workspace_id: str
    name: str
    agent_id: UUID


class AgentNameReclaimed(PublicEvent):
    """A released agent name was claimed again."""

    TYPE: ClassVar[str] = "agent_name.Reclaimed"
    agent_id: UUID


class AgentNameReleased(PublicEvent):
    """An agent name in a workspace became free."""

    TYPE: ClassVar[str] = "agent_name.Released"
    agent_id: UUID


class CatalogClaimReleased(PublicEvent):
    """A unique catalog key (subdomain, tunnel port, …) became free."""

    TYPE: ClassVar[str] = "catalog_claim.Released"
    holder: str


class CatalogClaimRetaken(PublicEvent):
    """A released catalog key was taken again."""

    TYPE: ClassVar[str] = "catalog_claim.Retaken"
    holder: str


class CatalogClaimTaken(PublicEvent):
    """A unique catalog key (subdomain, tunnel port, …) was taken by a holder."""

    TYPE: ClassVar[str] = "catalog_claim.Taken"
    kind: str
    key: str
    holder: str


class EnrollmentTokenIssued(PublicEvent):
    """An enrollment token was issued; only its prefix is public."""

    TYPE: ClassVar[str] = "enrollment_token.Issued"
    workspace_id: str
    kind: str
    prefix: str
    expires_at: Instant


class EnrollmentTokenUsed(PublicEvent):
    """An enrollment token was used to enroll an agent."""

    TYPE: ClassVar[str] = "enrollment_token.Used"
    agent_id: UUID


class IdempotentAnswerRecorded(PublicEvent):
    """The answer to an idempotent request was kept (its content stays private)."""

    TYPE: ClassVar[str] = "idempotent_answer.Recorded"
    answered_at: Instant


class ReleaseCatalogOpened(PublicEvent):
    """A workspace's release catalog was opened."""

    TYPE: ClassVar[str] = "release_catalog.Opened"
    workspace_id: str


class ReleasePublished(PublicEvent):
    """A signed agent release was published to a workspace."""

    TYPE: ClassVar[str] = "release_catalog.ReleasePublished"
    workspace_id: str
    version: str
    url: str
    sha256: str
    signature: str
    signed_payload: str
    published_at: Instant


class ServiceDeleted(PublicEvent):
    """A service of the catalog (seed 001) was deleted."""

    TYPE: ClassVar[str] = "service.Deleted"
    service_id: str
    workspace_id: str
    agent_id: str | None
    tunnel_port: int | None


class ServiceRegistered(PublicEvent):
    """A service was registered in the catalog (seed 001)."""

    TYPE: ClassVar[str] = "service.Registered"
    service_id: str
    workspace_id: str
    agent_id: str | None
    name: str
    target_host: str
    target_port: int
    protocol: str
    tunnel_port: int | None = None  # None for an external service
    is_public: bool = False
    # Absent from events recorded before it existed: external then means "has no agent".
    is_external: bool | None = None
    public_subdomain: str | None = None


class ServiceRenamed(PublicEvent):
    """A service of the catalog was renamed."""

    TYPE: ClassVar[str] = "service.Renamed"
    service_id: str
    workspace_id: str
    agent_id: str | None
    name: str


class ServiceSubdomainChanged(PublicEvent):
    """A service's public subdomain was set or cleared."""

    TYPE: ClassVar[str] = "service.SubdomainChanged"
    service_id: str
    workspace_id: str
    agent_id: str | None
    public_subdomain: str | None


class WorkspaceCreated(PublicEvent):
    """A workspace was created; only its API key prefix is public."""

    TYPE: ClassVar[str] = "workspace.Created"
    name: str
    tier: str
    api_key_prefix: str
