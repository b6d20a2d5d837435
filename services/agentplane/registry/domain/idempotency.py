"""The first answer to an idempotent create, kept (encrypted) for retries with the same key."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

_IDEMPOTENCY_NS = uuid5(NAMESPACE_URL, "agentplane:idempotency")


def idempotency_id(scope: str, key: str) -> UUID:
    """Deterministic per (principal, key): two first uses of a key conflict in the store."""
    return uuid5(_IDEMPOTENCY_NS, f"{scope}\n{key}")


class IdempotentAnswer(Aggregate):
    """One answered create; `ciphertext` is readable only while its day's key exists."""

    TOPIC = "registry.IdempotentAnswer"

    class Created(Aggregate.Created):
        TOPIC = "idempotent_answer.Recorded"
        # Never public: the answer holds a secret (encrypted), the rest says who asked what.
        PRIVATE = frozenset({"scope", "fingerprint", "key_day", "ciphertext"})
        scope: str
        fingerprint: str
        key_day: str
        ciphertext: str
        answered_at: datetime

    def __init__(
        self, scope: str, fingerprint: str, key_day: str, ciphertext: str, answered_at: datetime
    ) -> None:
        self.scope = scope
        self.fingerprint = fingerprint
        self.key_day = key_day
        self.ciphertext = ciphertext
        self.answered_at = answered_at

    @classmethod
    def record(
        cls, scope: str, key: str, fingerprint: str, key_day: str, ciphertext: str, at: datetime
    ) -> IdempotentAnswer:
        return cls._create(
            cls.Created,
            id=idempotency_id(scope, key),
            scope=scope,
            fingerprint=fingerprint,
            key_day=key_day,
            ciphertext=ciphertext,
            answered_at=at,
        )
