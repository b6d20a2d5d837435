"""One-time tokens for seed 002 registration and seed 003 enrollment."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

_TOKEN_NS = uuid5(NAMESPACE_URL, "agentplane:enrollment-token")


def enrollment_token_id(token_hash: str) -> UUID:
    """The aggregate id derives from the token's keyed hash: no hash needs storing."""
    return uuid5(_TOKEN_NS, token_hash)


class TokenNotUsable(Exception):
    """Used, expired, or of another kind."""


class EnrollmentToken(Aggregate):
    """Single use: of N parallel uses, the one whose save lands first wins; the rest conflict."""

    TOPIC = "registry.EnrollmentToken"

    class Created(Aggregate.Created):
        TOPIC = "enrollment_token.Issued"
        workspace_id: str
        kind: str
        prefix: str
        expires_at: datetime

    class Used(Aggregate.Event):
        TOPIC = "enrollment_token.Used"
        agent_id: UUID

    def __init__(self, workspace_id: str, kind: str, prefix: str, expires_at: datetime) -> None:
        self.workspace_id = workspace_id
        self.kind = kind
        self.prefix = prefix
        self.expires_at = expires_at
        self.used_by: UUID | None = None

    @classmethod
    def issue(
        cls, token_hash: str, workspace_id: str, kind: str, prefix: str, expires_at: datetime
    ) -> EnrollmentToken:
        return cls._create(
            cls.Created,
            id=enrollment_token_id(token_hash),
            workspace_id=workspace_id,
            kind=kind,
            prefix=prefix,
            expires_at=expires_at,
        )

    def use(self, kind: str, agent_id: UUID, now: datetime) -> None:
        if self.used_by is not None or self.kind != kind or now >= self.expires_at:
            raise TokenNotUsable(str(self.id))
        self._use(agent_id=agent_id)

    @event(Used)
    def _use(self, agent_id: UUID) -> None:
        self.used_by = agent_id
