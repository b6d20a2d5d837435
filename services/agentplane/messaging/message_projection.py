"""The inbox read model: every live message by recipient, and those not yet delivered."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from agentplane.eventstore.views import ViewTx
from agentplane.messaging.domain import Message

MESSAGE = "message"
# Messages whose recipient has not acknowledged them over the channel yet.
UNDELIVERED = "undelivered_message"


class MessageProjection:
    """Pure mapping of message events onto view documents; expired and cancelled messages
    leave the view."""

    name = "messages"

    def apply(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None:
        if isinstance(event, Message.Sent):
            doc = {
                "message_id": event.message_id,
                "workspace_id": event.workspace_id,
                "from_agent_id": event.from_agent_id,
                "to_agent_id": event.to_agent_id,
                "channel": event.channel,
                "type": event.type,
                "payload": event.payload,
                "correlation_id": event.correlation_id,
                "created_at": event.timestamp.isoformat(),
                "expires_at": event.expires_at.isoformat(),
                "delivered_at": None,
                "read_at": None,
            }
            tx.put(MESSAGE, event.message_id, doc, scope=event.to_agent_id)
            pending = {k: doc[k] for k in ("message_id", "to_agent_id", "created_at", "expires_at")}
            # Ordered by creation within the recipient: delivery pages through it in order.
            tx.put(
                UNDELIVERED,
                event.message_id,
                pending,
                scope=event.to_agent_id,
                sort=doc["created_at"],
            )
            return
        if isinstance(event, Message.Expired | Message.Cancelled):
            tx.delete(MESSAGE, event.message_id)
            tx.delete(UNDELIVERED, event.message_id)
            return
        stamp = {Message.Delivered: "delivered_at", Message.Read: "read_at"}.get(type(event))
        if stamp is None:
            return
        doc = tx.get(MESSAGE, event.message_id)
        if doc is None:
            return
        doc[stamp] = event.at.isoformat()  # type: ignore[attr-defined]
        tx.put(MESSAGE, event.message_id, doc, scope=event.to_agent_id)  # type: ignore[attr-defined]
        if isinstance(event, Message.Delivered):
            tx.delete(UNDELIVERED, event.message_id)
