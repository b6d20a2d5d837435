"""Further credentials of an agent (an orchestrator JWT's `jti`, a certificate serial), as
events of the Agent, and the rules every use of one is checked against."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.utils import register_topic

from agentplane.registry.domain.agent import Agent


class CredentialIssued(Agent.Event):
    """A further credential (JWT id, certificate serial, API key, …) for this agent."""

    TOPIC = "agent.CredentialIssued"
    PRIVATE = frozenset({"secret_hash"})
    kind: str
    credential_id: str
    secret_hash: str | None
    prefix: str | None
    expires_at: datetime | None

    def apply(self, aggregate: Any) -> None:
        aggregate.credentials[self.credential_id] = {
            "kind": self.kind,
            "secret_hash": self.secret_hash,
            "prefix": self.prefix,
            "expires_at": self.expires_at,
            "revoked": False,
        }


class CredentialRevoked(Agent.Event):
    """One credential stopped working (e.g. the old key after a rotation)."""

    TOPIC = "agent.CredentialRevoked"
    credential_id: str
    reason: str

    def apply(self, aggregate: Any) -> None:
        if self.credential_id in aggregate.credentials:
            aggregate.credentials[self.credential_id]["revoked"] = True


class CredentialsRevoked(Agent.Event):
    """Every credential of the agent, of every generation, stopped working."""

    TOPIC = "agent.CredentialsRevoked"
    reason: str

    def apply(self, aggregate: Any) -> None:
        aggregate.revoked = True
        for credential in aggregate.credentials.values():
            credential["revoked"] = True


# Defined outside the Agent class body, so their explicit topics are registered here (the
# topics, not the module path, are what the store holds: events recorded when these classes
# stood in the Agent class body resolve to them).
for _event_class in (CredentialIssued, CredentialRevoked, CredentialsRevoked):
    register_topic(_event_class.TOPIC, _event_class)


def issue_credential(
    agent: Agent,
    kind: str,
    credential_id: str,
    secret_hash: str | None,
    prefix: str | None,
    expires_at: datetime | None,
) -> None:
    agent.trigger_event(
        CredentialIssued,
        kind=kind,
        credential_id=credential_id,
        secret_hash=secret_hash,
        prefix=prefix,
        expires_at=expires_at,
    )


def revoke_credential(agent: Agent, credential_id: str, reason: str) -> None:
    agent.trigger_event(CredentialRevoked, credential_id=credential_id, reason=reason)


def revoke_all_credentials(agent: Agent, reason: str) -> None:
    agent.trigger_event(CredentialsRevoked, reason=reason)


def credential_live(agent: Agent, kind: str, credential_id: str, now: datetime) -> bool:
    """The credential was issued to this agent, is unexpired, and nothing revoked it."""
    if agent.deleted or not agent.credential_usable(now):
        return False
    credential = agent.credentials.get(credential_id)
    if credential is None or credential["kind"] != kind or credential["revoked"]:
        return False
    expires_at: datetime | None = credential["expires_at"]
    return expires_at is None or now < expires_at
