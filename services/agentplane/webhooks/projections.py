"""The webhooks read model: subscriptions by workspace, deliveries by subscription, and the
deliveries still pending (what the scheduler loads at start). Pure mapping of events."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from agentplane.contracts.webhooks import DeliveryStatus
from agentplane.eventstore.views import ViewTx
from agentplane.webhooks.domain import Delivery, Subscription, public_delivery_id

WEBHOOK = "webhook"
DELIVERY = "delivery"
PENDING = "pending_delivery"
_STEPS = (Delivery.Attempted, Delivery.Succeeded, Delivery.Failed, Delivery.Cancelled)


def _attempt(event: Any) -> dict[str, Any]:
    return {
        "attempt": event.attempt,
        "at": event.at.isoformat(),
        "status_code": event.status_code,
        "error": event.error,
    }


class WebhooksProjection:
    """Subscription and delivery events → view documents (idempotent per position)."""

    name = "webhooks"

    def apply(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None:
        if isinstance(event, Subscription.Subscribed):
            doc = {
                "webhook_id": event.webhook_id,
                "workspace_id": event.workspace_id,
                "url": event.url,
                "events": list(event.events),
                "description": event.description,
                "created_at": event.timestamp.isoformat(),
                "deleted_at": None,
            }
            tx.put(WEBHOOK, event.webhook_id, doc, scope=event.workspace_id)
        elif isinstance(event, Subscription.Deleted):
            doc = tx.get(WEBHOOK, event.webhook_id)
            if doc is not None:
                doc["deleted_at"] = event.at.isoformat()
                tx.put(WEBHOOK, event.webhook_id, doc, scope=event.workspace_id)
        elif isinstance(event, Delivery.Scheduled):
            at = event.timestamp.isoformat()
            doc = {
                "delivery_id": event.delivery_id,
                "webhook_id": event.webhook_id,
                "workspace_id": event.workspace_id,
                "agent_id": event.agent_id,
                "event": event.event_name,
                "sequence": event.sequence,
                "payload": event.payload,
                "status": DeliveryStatus.PENDING.value,
                "created_at": at,
                "next_attempt_at": at,
                "finished_at": None,
                "attempts": [],
            }
            tx.put(DELIVERY, event.delivery_id, doc, scope=event.webhook_id)
            tx.put(PENDING, event.delivery_id, _pending(doc), scope=event.webhook_id)
        elif isinstance(event, _STEPS):
            self._step(event, tx)

    def _step(self, event: Any, tx: ViewTx) -> None:
        key = public_delivery_id(event.originator_id)
        doc = tx.get(DELIVERY, key)
        if doc is None:
            return
        if isinstance(event, Delivery.Attempted):
            doc["attempts"].append(_attempt(event))
            doc["next_attempt_at"] = event.next_attempt_at.isoformat()
        elif isinstance(event, Delivery.Succeeded | Delivery.Failed):
            status_code = event.status_code
            error = None if isinstance(event, Delivery.Succeeded) else event.error
            doc["attempts"].append(
                {
                    "attempt": event.attempt,
                    "at": event.at.isoformat(),
                    "status_code": status_code,
                    "error": error,
                }
            )
            succeeded = isinstance(event, Delivery.Succeeded)
            doc["status"] = (DeliveryStatus.SUCCEEDED if succeeded else DeliveryStatus.FAILED).value
            doc.update(next_attempt_at=None, finished_at=event.at.isoformat())
        elif isinstance(event, Delivery.Cancelled):
            doc["status"] = DeliveryStatus.CANCELLED.value
            doc.update(next_attempt_at=None, finished_at=event.at.isoformat())
        else:
            return
        tx.put(DELIVERY, key, doc, scope=doc["webhook_id"])
        if doc["status"] == DeliveryStatus.PENDING.value:
            tx.put(PENDING, key, _pending(doc), scope=doc["webhook_id"])
        else:
            tx.delete(PENDING, key)


def _pending(doc: dict[str, Any]) -> dict[str, Any]:
    keys = ("delivery_id", "webhook_id", "agent_id", "sequence", "next_attempt_at")
    return {k: doc[k] for k in keys}
