"""Registry domain: aggregates and events. Pure: no I/O, no transport."""

from agentplane.registry.domain.agent import Agent, AgentAlreadyRegistered, TokenMismatch
from agentplane.registry.domain.agent_name import AgentName  # registers its events' topics
from agentplane.registry.domain.catalog_claim import CatalogClaim  # registers its topics
from agentplane.registry.domain.credential import (  # registers the credential events' topics
    CredentialIssued,
    CredentialRevoked,
    CredentialsRevoked,
)
from agentplane.registry.domain.device_key import (  # registers the rotation events' topics
    ApiKeyDelivered,
    ApiKeyRotationCompleted,
    ApiKeyRotationRequested,
)
from agentplane.registry.domain.enrollment import EnrollmentToken, TokenNotUsable
from agentplane.registry.domain.reconnect import Reconnected  # registers its event's topic
from agentplane.registry.domain.release import ReleaseCatalog
from agentplane.registry.domain.service import Service
from agentplane.registry.domain.workspace import Workspace

__all__ = [
    "Agent",
    "AgentAlreadyRegistered",
    "AgentName",
    "ApiKeyDelivered",
    "ApiKeyRotationCompleted",
    "ApiKeyRotationRequested",
    "CatalogClaim",
    "CredentialIssued",
    "CredentialRevoked",
    "CredentialsRevoked",
    "EnrollmentToken",
    "Reconnected",
    "ReleaseCatalog",
    "Service",
    "TokenMismatch",
    "TokenNotUsable",
    "Workspace",
]
