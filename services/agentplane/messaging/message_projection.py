"""The inbox read model: every live message by recipient, in one of two kinds by its state.

A message waiting for its recipient's acknowledgement over the channel is an `UNDELIVERED`
document (ordered by creation within the recipient: delivery pages through them in order);
once delivered it moves to `MESSAGE`. Either way it is one document, the message's whole
view: a send writes one row (one entry per index), not a document plus a delivery-queue entry.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from agentplane.eventstore.views import ViewTx
from agentplane.messaging.domain import Message

MESSAGE = "message"
# Messages whose recipient has not acknowledged them over the channel yet.
UNDELIVERED = "undelivered_message"
# Where a message's document may be (`message_doc` looks in both).
KINDS = (UNDELIVERED, MESSAGE)


def message_doc(tx: ViewTx, message_id: str) -> dict[str, Any] | None:
    """The message's document, delivered or not."""
    for kind in KINDS:
        doc = tx.get(kind, message_id)
        if doc is not None:
            return doc
    return None


class MessageProjection:
    """Pure mapping of message events onto view documents; expired and cancelled messages
    leave the view."""

    name = "messages"
    # A view built with the two-document layout is emptied of both kinds before its rebuild.
    rebuilt_kinds = KINDS

    def apply(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None:
        if isinstance(event, Message.Sent):
            created_at = event.timestamp.isoformat()
            doc = {
                "message_id": event.message_id,
                "workspace_id": event.workspace_id,
                "from_agent_id": event.from_agent_id,
                "to_agent_id": event.to_agent_id,
                "channel": event.channel,
                "type": event.type,
                "payload": event.payload,
                "correlation_id": event.correlation_id,
                "created_at": created_at,
                "expires_at": event.expires_at.isoformat(),
                "delivered_at": None,
                "read_at": None,
            }
            tx.put(UNDELIVERED, event.message_id, doc, scope=event.to_agent_id, sort=created_at)
            return
        if isinstance(event, Message.Expired | Message.Cancelled):
            tx.delete(UNDELIVERED, event.message_id)
            tx.delete(MESSAGE, event.message_id)
            return
        delivered = isinstance(event, Message.Delivered)
        if not delivered and not isinstance(event, Message.Read):
            return
        doc = message_doc(tx, event.message_id)  # type: ignore[attr-defined]
        if doc is None:
            return
        at = event.at.isoformat()  # type: ignore[attr-defined]
        scope = event.to_agent_id  # type: ignore[attr-defined]
        if delivered:
            doc["delivered_at"] = at
            tx.delete(UNDELIVERED, doc["message_id"])
            tx.put(MESSAGE, doc["message_id"], doc, scope=scope)
        else:
            doc["read_at"] = at
            kind = MESSAGE if doc["delivered_at"] else UNDELIVERED
            # `sort` None keeps the row's order (its creation while undelivered).
            tx.put(kind, doc["message_id"], doc, scope=scope)
