"""The Agent aggregate: identity, token and registration of one agent of a workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event


class AgentAlreadyRegistered(Exception):
    """The agent id is taken by a registered agent."""


class TokenMismatch(Exception):
    """The token presented does not belong to the agent."""


class Agent(Aggregate):
    """One agent. Its token is kept only as a keyed hash and a short public prefix."""

    TOPIC = "registry.Agent"

    class Event(Aggregate.Event):
        AGENT_SCOPED = True

    class Created(Event, Aggregate.Created):
        """Base of the two ways an agent comes into being; never recorded itself."""

        TOPIC = "agent.Created"

    class Provisioned(Created):
        """Created by `POST /v1/agents/provision` with a server-issued, short-lived token."""

        TOPIC = "agent.Provisioned"
        PRIVATE = frozenset({"token_hash"})
        workspace_id: str
        client_type: str
        name: str | None
        label: str | None
        token_hash: str
        token_prefix: str
        token_expires_at: datetime

    class Registered(Created):
        """Created by `POST /v1/agents/register` under a caller-chosen UUID and token."""

        TOPIC = "agent.Registered"
        PRIVATE = frozenset({"token_hash"})
        workspace_id: str
        name: str | None
        label: str | None
        token_hash: str
        token_prefix: str
        token_expires_at: datetime | None

    class Enrolled(Created):
        """Created through another dialect: seed 002 (orchestrator), 003 (device), 004 (PAP).

        `attributes` holds the dialect's public, non-secret fields (version, labels, hostname,
        os, dns_name, resources, …); `token_*` is the dialect's primary agent credential.
        """

        TOPIC = "agent.Enrolled"
        PRIVATE = frozenset({"token_hash"})
        workspace_id: str
        dialect: str
        name: str | None
        label: str | None
        token_hash: str
        token_prefix: str
        token_expires_at: datetime | None
        attributes: dict[str, Any]

    class RegistrationCompleted(Event):
        """A provisioned agent registered itself with its provisioned token."""

        TOPIC = "agent.RegistrationCompleted"
        name: str | None
        label: str | None

    def __init__(
        self,
        workspace_id: str,
        name: str | None,
        label: str | None,
        token_hash: str,
        token_prefix: str,
        token_expires_at: datetime | None,
        client_type: str | None = None,
        dialect: str = "v1",
        attributes: dict[str, Any] | None = None,
    ) -> None:
        # Every created event lands here; only a provisioned agent has a client type.
        self.dialect = dialect
        self.attributes: dict[str, Any] = dict(attributes or {})
        self.capabilities: list[dict[str, Any]] = []
        self.credentials: dict[str, dict[str, Any]] = {}
        self.revoked = False
        self.deleted = False
        self.terminated_at: datetime | None = None
        self.workspace_id = workspace_id
        self.name = name
        self.label = label
        self.token_hash = token_hash
        self.token_prefix = token_prefix
        self.token_expires_at = token_expires_at
        self.client_type = client_type
        self.registered = client_type is None

    @classmethod
    def provision(
        cls,
        agent_id: UUID,
        workspace_id: str,
        client_type: str,
        name: str | None,
        label: str | None,
        token_hash: str,
        token_prefix: str,
        token_expires_at: datetime,
    ) -> Agent:
        return cls._create(
            cls.Provisioned,
            id=agent_id,
            workspace_id=workspace_id,
            client_type=client_type,
            name=name,
            label=label,
            token_hash=token_hash,
            token_prefix=token_prefix,
            token_expires_at=token_expires_at,
        )

    @classmethod
    def register(
        cls,
        agent_id: UUID,
        workspace_id: str,
        name: str | None,
        label: str | None,
        token_hash: str,
        token_prefix: str,
        token_expires_at: datetime | None,
    ) -> Agent:
        return cls._create(
            cls.Registered,
            id=agent_id,
            workspace_id=workspace_id,
            name=name,
            label=label,
            token_hash=token_hash,
            token_prefix=token_prefix,
            token_expires_at=token_expires_at,
        )

    def complete_registration(
        self, token_matches: bool, name: str | None, label: str | None
    ) -> None:
        """Register a provisioned agent; its provisioned token proves the caller holds it."""
        if self.registered:
            raise AgentAlreadyRegistered(str(self.id))
        if not token_matches:
            raise TokenMismatch(str(self.id))
        self._complete(
            name=name if name is not None else self.name,
            label=label if label is not None else self.label,
        )

    @event(RegistrationCompleted)
    def _complete(self, name: str | None, label: str | None) -> None:
        self.name = name
        self.label = label
        self.registered = True

    def token_valid_at(self, now: datetime) -> bool:
        return self.token_expires_at is None or now < self.token_expires_at

    @classmethod
    def enroll(
        cls,
        agent_id: UUID,
        workspace_id: str,
        dialect: str,
        name: str | None,
        label: str | None,
        token_hash: str,
        token_prefix: str,
        token_expires_at: datetime | None,
        attributes: dict[str, Any],
    ) -> Agent:
        return cls._create(
            cls.Enrolled,
            id=agent_id,
            workspace_id=workspace_id,
            dialect=dialect,
            name=name,
            label=label,
            token_hash=token_hash,
            token_prefix=token_prefix,
            token_expires_at=token_expires_at,
            attributes=attributes,
        )

    def credential_usable(self, now: datetime) -> bool:
        """No credential of a revoked, deleted or terminated agent works."""
        return not (self.revoked or self.deleted or self.terminated_at is not None)

    # -- changes every dialect shares ------------------------------------------------------

    class TokenRotated(Event):
        """The primary token was replaced; the old one stops working at once."""

        TOPIC = "agent.TokenRotated"
        PRIVATE = frozenset({"token_hash"})
        old_token_prefix: str
        token_hash: str
        token_prefix: str
        token_expires_at: datetime | None

    @event(TokenRotated)
    def rotate_token(
        self,
        old_token_prefix: str,
        token_hash: str,
        token_prefix: str,
        token_expires_at: datetime | None,
    ) -> None:
        self.token_hash = token_hash
        self.token_prefix = token_prefix
        self.token_expires_at = token_expires_at

    class CapabilitiesReplaced(Event):
        """The agent's capability set, replaced as a whole."""

        TOPIC = "agent.CapabilitiesReplaced"
        capabilities: list[dict[str, Any]]

    @event(CapabilitiesReplaced)
    def replace_capabilities(self, capabilities: list[dict[str, Any]]) -> None:
        self.capabilities = list(capabilities)

    class AttributesUpdated(Event):
        """Public attributes changed (labels, version, …): the keys given replace old values."""

        TOPIC = "agent.AttributesUpdated"
        changes: dict[str, Any]

    @event(AttributesUpdated)
    def update_attributes(self, changes: dict[str, Any]) -> None:
        self.attributes.update(changes)

    class Deleted(Event):
        """The registration was removed (seed 002); its credentials are revoked with it."""

        TOPIC = "agent.Deleted"

    @event(Deleted)
    def delete(self) -> None:
        self.deleted = True
        self.revoked = True

    class Terminated(Event):
        """Terminated by its owner (seed 004); the record stays for audit."""

        TOPIC = "agent.Terminated"
        at: datetime

    @event(Terminated)
    def terminate(self, at: datetime) -> None:
        self.terminated_at = at
        self.revoked = True
