"""Idempotent creates: the first answer is saved with what it created and answers retries.

A use case asks `replay` first (a retry gets the stored answer, a key reused for another
request gets 409), then saves `record(...)` in the same transaction as its new aggregates;
if that save conflicts because a parallel first use of the key won, `replay` answers from
the winner's record. Answers are encrypted under the day's shred key: after 24 h the key is
refused (409) and, once the day's key is deleted, the stored secret is unreadable for good.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from eventsourcing.application import AggregateNotFoundError
from pydantic import BaseModel

from agentplane.contracts.errors import conflict
from agentplane.contracts.idempotency import IDEMPOTENCY_WINDOW_HOURS, Idempotency
from agentplane.eventstore.application import ServiceApplication
from agentplane.registry.domain.idempotency import IdempotentAnswer, idempotency_id
from agentplane.security.shred_keys import KeyShredded, ShredKeys

log = logging.getLogger("agentplane.registry.idempotency")

Answer = TypeVar("Answer", bound=BaseModel)
WINDOW = timedelta(hours=IDEMPOTENCY_WINDOW_HOURS)


class IdempotentAnswers:
    """Stored first answers of idempotent creates, by (principal, key)."""

    def __init__(self, store: ServiceApplication, keys: ShredKeys) -> None:
        self.store = store
        self.keys = keys

    def replay(
        self, idempotency: Idempotency | None, answer_type: type[Answer], now: datetime
    ) -> Answer | None:
        """The stored answer to this key, or None when the key was never used."""
        if idempotency is None:
            return None
        try:
            found: IdempotentAnswer = self.store.repository.get(
                idempotency_id(idempotency.scope, idempotency.key), deepcopy_from_cache=False
            )
        except AggregateNotFoundError:
            return None
        if found.fingerprint != idempotency.fingerprint:
            raise conflict(
                "Idempotency-Key was already used for a different request", field="Idempotency-Key"
            )
        if now - found.answered_at > WINDOW:
            raise conflict(
                f"Idempotency-Key expired ({IDEMPOTENCY_WINDOW_HOURS} h); use a new key",
                field="Idempotency-Key",
            )
        try:
            plaintext = self.keys.decrypt(found.key_day, found.ciphertext)
        except KeyShredded:
            raise conflict(
                "Idempotency-Key expired; use a new key", field="Idempotency-Key"
            ) from None
        return answer_type.model_validate_json(plaintext)

    def record(
        self, idempotency: Idempotency | None, answer: BaseModel, now: datetime
    ) -> list[IdempotentAnswer]:
        """The aggregate to save with the create (none without a key)."""
        if idempotency is None:
            return []
        day, ciphertext = self.keys.encrypt(answer.model_dump_json().encode(), now)
        return [
            IdempotentAnswer.record(
                idempotency.scope, idempotency.key, idempotency.fingerprint, day, ciphertext, now
            )
        ]

    def shred_expired(self, now: datetime) -> list[str]:
        """Delete day keys no retry can need any more (their day ended over 24 h ago)."""
        return self.keys.shred_before(now - WINDOW)


async def shred_expired_keys(
    answers: IdempotentAnswers, clock: Callable[[], datetime], every_seconds: float = 3600.0
) -> None:
    """Forever: erase (crypto-shred) the stored answers no retry may read any more."""
    while True:
        shredded = await asyncio.to_thread(answers.shred_expired, clock())
        if shredded:
            log.info("idempotent answers of %s erased (day keys deleted)", ", ".join(shredded))
        await asyncio.sleep(every_seconds)
