"""The registry service's recorded events → their public, typed integration events.

The only module that knows both: domain classes on the left, contracts on the right. A new
recorded event needs a row here (tests/contracts checks every one has).
"""

from __future__ import annotations

from agentplane.contracts.events import registry, registry_workspace
from agentplane.eventstore.integration import Translator
from agentplane.registry.domain import CredentialIssued, CredentialRevoked, CredentialsRevoked
from agentplane.registry.domain.agent import Agent
from agentplane.registry.domain.agent_name import AgentName
from agentplane.registry.domain.catalog_claim import CatalogClaim
from agentplane.registry.domain.device_key import (
    ApiKeyDelivered,
    ApiKeyRotationCompleted,
    ApiKeyRotationRequested,
)
from agentplane.registry.domain.enrollment import EnrollmentToken
from agentplane.registry.domain.idempotency import IdempotentAnswer
from agentplane.registry.domain.reconnect import Reconnected
from agentplane.registry.domain.release import ReleaseCatalog
from agentplane.registry.domain.service import Service
from agentplane.registry.domain.workspace import Workspace

TRANSLATOR = Translator(
    {
        ApiKeyDelivered: registry.AgentApiKeyDelivered,
        ApiKeyRotationCompleted: registry.AgentApiKeyRotationCompleted,
        ApiKeyRotationRequested: registry.AgentApiKeyRotationRequested,
        Agent.AttributesUpdated: registry.AgentAttributesUpdated,
        Agent.CapabilitiesReplaced: registry.AgentCapabilitiesReplaced,
        CredentialIssued: registry.AgentCredentialIssued,
        CredentialRevoked: registry.AgentCredentialRevoked,
        CredentialsRevoked: registry.AgentCredentialsRevoked,
        Agent.Deleted: registry.AgentDeleted,
        Agent.Enrolled: registry.AgentEnrolled,
        Agent.Provisioned: registry.AgentProvisioned,
        Reconnected: registry.AgentReconnected,
        Agent.Registered: registry.AgentRegistered,
        Agent.RegistrationCompleted: registry.AgentRegistrationCompleted,
        Agent.Terminated: registry.AgentTerminated,
        Agent.TokenRotated: registry.AgentTokenRotated,
        AgentName.Created: registry_workspace.AgentNameClaimed,
        AgentName.Reclaimed: registry_workspace.AgentNameReclaimed,
        AgentName.Released: registry_workspace.AgentNameReleased,
        CatalogClaim.Released: registry_workspace.CatalogClaimReleased,
        CatalogClaim.Retaken: registry_workspace.CatalogClaimRetaken,
        CatalogClaim.Created: registry_workspace.CatalogClaimTaken,
        EnrollmentToken.Created: registry_workspace.EnrollmentTokenIssued,
        EnrollmentToken.Used: registry_workspace.EnrollmentTokenUsed,
        IdempotentAnswer.Created: registry_workspace.IdempotentAnswerRecorded,
        ReleaseCatalog.Created: registry_workspace.ReleaseCatalogOpened,
        ReleaseCatalog.ReleasePublished: registry_workspace.ReleasePublished,
        Service.Deleted: registry_workspace.ServiceDeleted,
        Service.Registered: registry_workspace.ServiceRegistered,
        Service.Renamed: registry_workspace.ServiceRenamed,
        Service.SubdomainChanged: registry_workspace.ServiceSubdomainChanged,
        Workspace.Created: registry_workspace.WorkspaceCreated,
    }
)
