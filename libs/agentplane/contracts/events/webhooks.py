"""The webhooks service's integration events: the public form of what it records."""

from __future__ import annotations

from typing import Any, ClassVar

from agentplane.contracts.events.public import Instant, PublicEvent


class DeliveryAttempted(PublicEvent):
    """A webhook delivery attempt got no 2xx answer; the next is due at `next_attempt_at`."""

    TYPE: ClassVar[str] = "delivery.Attempted"
    attempt: int
    at: Instant
    status_code: int | None
    error: str | None
    next_attempt_at: Instant


class DeliveryCancelled(PublicEvent):
    """A webhook delivery was cancelled."""

    TYPE: ClassVar[str] = "delivery.Cancelled"
    at: Instant
    reason: str


class DeliveryFailed(PublicEvent):
    """The last webhook delivery attempt of the retry window failed too."""

    TYPE: ClassVar[str] = "delivery.Failed"
    attempt: int
    at: Instant
    status_code: int | None
    error: str | None


class DeliveryScheduled(PublicEvent):
    """A webhook delivery was scheduled for a lifecycle transition."""

    TYPE: ClassVar[str] = "delivery.Scheduled"
    workspace_id: str
    webhook_id: str
    delivery_id: str
    agent_id: str
    event_name: str
    transition_id: str
    sequence: int
    payload: dict[str, Any]


class DeliverySucceeded(PublicEvent):
    """A webhook delivery got a 2xx answer."""

    TYPE: ClassVar[str] = "delivery.Succeeded"
    attempt: int
    at: Instant
    status_code: int


class WebhookDeleted(PublicEvent):
    """A webhook subscription was deleted."""

    TYPE: ClassVar[str] = "webhook.Deleted"
    workspace_id: str
    webhook_id: str
    at: Instant


class WebhookSubscribed(PublicEvent):
    """A webhook subscription was created (its secret stays private)."""

    TYPE: ClassVar[str] = "webhook.Subscribed"
    workspace_id: str
    webhook_id: str
    url: str
    events: list[str]
    description: str | None
