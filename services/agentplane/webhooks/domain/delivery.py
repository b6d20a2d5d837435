"""One lifecycle event on its way to one subscription: scheduled, attempted until a receiver
answers 2xx (succeeded), the retry window closes (failed) or the subscription goes (cancelled).

The id derives from the subscription and the transition, so the fan-out recording the same
transition twice (at-least-once consumption) collides instead of sending twice; it is also
the `webhook-id` every attempt carries, so receivers can drop repeats.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from agentplane.contracts.webhooks import DELIVERY_ID_PREFIX, DeliveryStatus


class DeliveryFinished(Exception):
    """The delivery already succeeded, failed or was cancelled: nothing more happens to it."""


def delivery_uuid(subscription: UUID, transition_id: str) -> UUID:
    return uuid5(subscription, transition_id)


def public_delivery_id(uuid: UUID) -> str:
    return DELIVERY_ID_PREFIX + uuid.hex


def retry_delay(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Seconds before attempt `attempt + 1` after `attempt` failed: base·2^(attempt-1), at most
    `cap`, scaled by `jitter` in [0.5, 1] so receivers coming back are not hit all at once."""
    exponent = min(attempt - 1, 60)
    return min(base * (2.0**exponent), cap) * min(max(jitter, 0.5), 1.0)


class Delivery(Aggregate):
    """Attempts are numbered from 1; `next_attempt_at` is when a pending delivery is due."""

    TOPIC = "webhooks.Delivery"

    class Created(Aggregate.Created):
        # Never recorded (deliveries start as Scheduled); eventsourcing needs a topic.
        TOPIC = "delivery.Created"

    class Scheduled(Aggregate.Created):
        TOPIC = "delivery.Scheduled"
        workspace_id: str
        webhook_id: str
        delivery_id: str
        agent_id: str
        event_name: str
        transition_id: str
        sequence: int  # the transition's position in the event stream: order per agent
        payload: dict[str, Any]

    class Attempted(Aggregate.Event):
        """An attempt without a 2xx answer; the next one is due at `next_attempt_at`."""

        TOPIC = "delivery.Attempted"
        attempt: int
        at: datetime
        status_code: int | None
        error: str | None
        next_attempt_at: datetime

    class Succeeded(Aggregate.Event):
        TOPIC = "delivery.Succeeded"
        attempt: int
        at: datetime
        status_code: int

    class Failed(Aggregate.Event):
        """The last attempt of the retry window failed too."""

        TOPIC = "delivery.Failed"
        attempt: int
        at: datetime
        status_code: int | None
        error: str | None

    class Cancelled(Aggregate.Event):
        TOPIC = "delivery.Cancelled"
        at: datetime
        reason: str

    def __init__(
        self,
        workspace_id: str,
        webhook_id: str,
        delivery_id: str,
        agent_id: str,
        event_name: str,
        transition_id: str,
        sequence: int,
        payload: dict[str, Any],
    ) -> None:
        self.workspace_id = workspace_id
        self.webhook_id = webhook_id
        self.delivery_id = delivery_id
        self.agent_id = agent_id
        self.event_name = event_name
        self.transition_id = transition_id
        self.sequence = sequence
        self.payload = payload
        self.attempts = 0
        self.status = DeliveryStatus.PENDING

    @classmethod
    def schedule(
        cls,
        subscription: UUID,
        workspace_id: str,
        webhook_id: str,
        agent_id: str,
        event_name: str,
        transition_id: str,
        sequence: int,
        payload: dict[str, Any],
    ) -> Delivery:
        uuid = delivery_uuid(subscription, transition_id)
        return cls._create(
            cls.Scheduled,
            id=uuid,
            workspace_id=workspace_id,
            webhook_id=webhook_id,
            delivery_id=public_delivery_id(uuid),
            agent_id=agent_id,
            event_name=event_name,
            transition_id=transition_id,
            sequence=sequence,
            payload=payload,
        )

    def _pending(self) -> None:
        if self.status is not DeliveryStatus.PENDING:
            raise DeliveryFinished(self.delivery_id)

    def record_attempt(
        self,
        at: datetime,
        status_code: int | None,
        error: str | None,
        retry_in: float,
        window: float,
    ) -> None:
        """The outcome of the next attempt; a failure is retried while the window is open."""
        self._pending()
        attempt = self.attempts + 1
        if status_code is not None and 200 <= status_code < 300:
            self._succeeded(attempt=attempt, at=at, status_code=status_code)
        elif at >= self.created_on + timedelta(seconds=window):
            self._failed(attempt=attempt, at=at, status_code=status_code, error=error)
        else:
            self._attempted(
                attempt=attempt,
                at=at,
                status_code=status_code,
                error=error,
                next_attempt_at=at + timedelta(seconds=retry_in),
            )

    def cancel(self, at: datetime, reason: str) -> None:
        self._pending()
        self._cancelled(at=at, reason=reason)

    @event(Attempted)
    def _attempted(
        self,
        attempt: int,
        at: datetime,
        status_code: int | None,
        error: str | None,
        next_attempt_at: datetime,
    ) -> None:
        self.attempts = attempt

    @event(Succeeded)
    def _succeeded(self, attempt: int, at: datetime, status_code: int) -> None:
        self.attempts = attempt
        self.status = DeliveryStatus.SUCCEEDED

    @event(Failed)
    def _failed(
        self, attempt: int, at: datetime, status_code: int | None, error: str | None
    ) -> None:
        self.attempts = attempt
        self.status = DeliveryStatus.FAILED

    @event(Cancelled)
    def _cancelled(self, at: datetime, reason: str) -> None:
        self.status = DeliveryStatus.CANCELLED
