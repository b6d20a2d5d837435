"""A webhook subscription: where a workspace wants its agents' lifecycle events sent.

The signing secret is held only encrypted (`secret_ciphertext`, under the service's key) and
is private: it never leaves the service in an integration event, a list or a log.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from agentplane.contracts.webhooks import WEBHOOK_ID_PREFIX

# Ids of subscriptions created with an Idempotency-Key derive from it (a retry collides).
_IDEMPOTENT = UUID("5b1f3c1e-4a0e-4f0c-9a52-6f0c2a3e9d71")


def public_webhook_id(uuid: UUID) -> str:
    return WEBHOOK_ID_PREFIX + uuid.hex


def webhook_uuid(public_id: str) -> UUID | None:
    """The aggregate id behind `wh_<hex>`, or None for anything else."""
    if not public_id.startswith(WEBHOOK_ID_PREFIX):
        return None
    try:
        return UUID(hex=public_id[len(WEBHOOK_ID_PREFIX) :])
    except ValueError:
        return None


def idempotent_webhook_uuid(scope: str, key: str) -> UUID:
    return uuid5(_IDEMPOTENT, f"{scope}\x00{key}")


class Subscription(Aggregate):
    """Subscribed, then perhaps deleted (for good)."""

    TOPIC = "webhooks.Subscription"

    class Event(Aggregate.Event):
        PRIVATE = frozenset({"secret_ciphertext", "idempotency_fingerprint"})

    class Created(Event, Aggregate.Created):
        # Never recorded (subscriptions start as Subscribed); eventsourcing needs a topic.
        TOPIC = "webhook.Created"

    class Subscribed(Event, Aggregate.Created):
        TOPIC = "webhook.Subscribed"
        workspace_id: str
        webhook_id: str
        url: str
        events: list[str]
        description: str | None
        secret_ciphertext: str
        idempotency_fingerprint: str | None

    class Deleted(Event):
        TOPIC = "webhook.Deleted"
        workspace_id: str
        webhook_id: str
        at: datetime

    def __init__(
        self,
        workspace_id: str,
        webhook_id: str,
        url: str,
        events: list[str],
        description: str | None,
        secret_ciphertext: str,
        idempotency_fingerprint: str | None,
    ) -> None:
        self.workspace_id = workspace_id
        self.webhook_id = webhook_id
        self.url = url
        self.events = list(events)
        self.description = description
        self.secret_ciphertext = secret_ciphertext
        self.idempotency_fingerprint = idempotency_fingerprint
        self.deleted_at: datetime | None = None

    @classmethod
    def subscribe(
        cls,
        uuid: UUID,
        workspace_id: str,
        url: str,
        events: list[str],
        description: str | None,
        secret_ciphertext: str,
        idempotency_fingerprint: str | None = None,
    ) -> Subscription:
        return cls._create(
            cls.Subscribed,
            id=uuid,
            workspace_id=workspace_id,
            webhook_id=public_webhook_id(uuid),
            url=url,
            events=list(events),
            description=description,
            secret_ciphertext=secret_ciphertext,
            idempotency_fingerprint=idempotency_fingerprint,
        )

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def delete(self, at: datetime) -> None:
        """Stop for good; deleting again changes nothing."""
        if not self.deleted:
            self._deleted(workspace_id=self.workspace_id, webhook_id=self.webhook_id, at=at)

    @event(Deleted)
    def _deleted(self, workspace_id: str, webhook_id: str, at: datetime) -> None:
        self.deleted_at = at


def subscribed_to(
    events: list[str],
    created_at: datetime,
    deleted_at: datetime | None,
    event_name: str,
    occurred_at: datetime,
) -> bool:
    """Whether a subscription gets an event that happened at `occurred_at`: only what happened
    while it existed (a consumer catching up never sends older history), of the kinds it
    asked for."""
    if occurred_at < created_at:
        return False
    if deleted_at is not None and occurred_at >= deleted_at:
        return False
    return event_name in events
