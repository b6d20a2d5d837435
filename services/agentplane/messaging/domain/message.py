"""An agent-to-agent message: sent, then delivered over the channel and read, until it expires
(or is cancelled, undelivered, because its recipient was deleted or terminated).

A broadcast is one message per recipient, so each has its own delivery and read state.
Steps arrive at least once: a repeat changes nothing (the use case asks before it records).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from agentplane.messaging.domain.public_ids import aggregate_id, public_id

PREFIX = "msg_"


class MessageGone(Exception):
    """The message expired or was withdrawn: nothing more happens to it."""


def public_message_id(message_uuid: UUID) -> str:
    return public_id(PREFIX, message_uuid)


def message_uuid(public: str) -> UUID | None:
    """The aggregate id behind `msg_<hex>`, or None for anything else."""
    return aggregate_id(PREFIX, public)


class Message(Aggregate):
    """One message to one agent; every event names the recipient (the agent its integration
    event concerns: `AGENT_FIELD`)."""

    TOPIC = "messaging.Message"

    class Event(Aggregate.Event):
        AGENT_FIELD = "to_agent_id"
        # What agents say to each other is theirs, not the event log's subscribers'.
        PRIVATE = frozenset({"payload", "correlation_id"})

    class Created(Event, Aggregate.Created):
        # Never recorded (messages start as Sent); eventsourcing asks every class for a topic.
        TOPIC = "message.Created"

    class Sent(Event, Aggregate.Created):
        TOPIC = "message.Sent"
        workspace_id: str
        from_agent_id: str
        to_agent_id: str
        message_id: str
        channel: str | None
        type: str
        payload: dict[str, Any]
        correlation_id: str | None
        expires_at: datetime

    class Delivered(Event):
        TOPIC = "message.Delivered"
        to_agent_id: str
        message_id: str
        at: datetime

    class Read(Event):
        TOPIC = "message.Read"
        to_agent_id: str
        message_id: str
        at: datetime

    class Expired(Event):
        TOPIC = "message.Expired"
        to_agent_id: str
        message_id: str
        at: datetime

    class Cancelled(Event):
        TOPIC = "message.Cancelled"
        to_agent_id: str
        message_id: str
        at: datetime

    def __init__(
        self,
        workspace_id: str,
        from_agent_id: str,
        to_agent_id: str,
        message_id: str,
        channel: str | None,
        type: str,
        payload: dict[str, Any],
        correlation_id: str | None,
        expires_at: datetime,
    ) -> None:
        self.workspace_id = workspace_id
        self.from_agent_id = from_agent_id
        self.to_agent_id = to_agent_id
        self.message_id = message_id
        self.expires_at = expires_at
        self.delivered_at: datetime | None = None
        self.read_at: datetime | None = None
        self.expired = False
        self.cancelled = False

    @classmethod
    def send(
        cls,
        uuid: UUID,
        workspace_id: str,
        from_agent_id: str,
        to_agent_id: str,
        channel: str | None,
        type: str,
        payload: dict[str, Any],
        correlation_id: str | None,
        expires_at: datetime,
    ) -> Message:
        return cls._create(
            cls.Sent,
            id=uuid,
            workspace_id=workspace_id,
            from_agent_id=from_agent_id,
            to_agent_id=to_agent_id,
            message_id=public_message_id(uuid),
            channel=channel,
            type=type,
            payload=payload,
            correlation_id=correlation_id,
            expires_at=expires_at,
        )

    def _live(self, at: datetime) -> None:
        if self.expired or self.cancelled or at >= self.expires_at:
            raise MessageGone(self.message_id)

    def deliver(self, at: datetime) -> bool:
        """Record the agent's ack once; False when it was recorded before."""
        self._live(at)
        if self.delivered_at is not None:
            return False
        self._delivered(to_agent_id=self.to_agent_id, message_id=self.message_id, at=at)
        return True

    @event(Delivered)
    def _delivered(self, to_agent_id: str, message_id: str, at: datetime) -> None:
        self.delivered_at = at

    def read(self, at: datetime) -> bool:
        """`readAt` is set once; reading again changes nothing (False)."""
        self._live(at)
        if self.read_at is not None:
            return False
        self._read(to_agent_id=self.to_agent_id, message_id=self.message_id, at=at)
        return True

    @event(Read)
    def _read(self, to_agent_id: str, message_id: str, at: datetime) -> None:
        self.read_at = at

    def expire(self, at: datetime) -> bool:
        if self.expired or self.cancelled or at < self.expires_at:
            return False
        self._expired(to_agent_id=self.to_agent_id, message_id=self.message_id, at=at)
        return True

    @event(Expired)
    def _expired(self, to_agent_id: str, message_id: str, at: datetime) -> None:
        self.expired = True

    def cancel(self, at: datetime) -> bool:
        """End an undelivered message whose recipient is gone; False when there is nothing to end
        (already delivered, expired or cancelled: a delivered one stays until it expires)."""
        if self.expired or self.cancelled or self.delivered_at is not None:
            return False
        self._cancelled(to_agent_id=self.to_agent_id, message_id=self.message_id, at=at)
        return True

    @event(Cancelled)
    def _cancelled(self, to_agent_id: str, message_id: str, at: datetime) -> None:
        self.cancelled = True


def sent_event(
    uuid: UUID,
    workspace_id: str,
    from_agent_id: str,
    to_agent_id: str,
    channel: str | None,
    type: str,
    payload: dict[str, Any],
    correlation_id: str | None,
    expires_at: datetime,
) -> Message.Sent:
    """The event `Message.send` records, built without the aggregate: a send only saves it
    (nothing reads the new message back), and building the aggregate from it — eventsourcing
    matches the event's fields to `__init__`'s parameters — cost ~25 Python calls per send.
    A later step loads the message from this same event."""
    return Message.Sent(
        originator_topic=_MESSAGE_TOPIC,
        originator_id=uuid,
        originator_version=Message.INITIAL_VERSION,
        timestamp=Message.Sent.create_timestamp(),
        workspace_id=workspace_id,
        from_agent_id=from_agent_id,
        to_agent_id=to_agent_id,
        message_id=public_message_id(uuid),
        channel=channel,
        type=type,
        payload=payload,
        correlation_id=correlation_id,
        expires_at=expires_at,
    )


_MESSAGE_TOPIC = get_topic(Message)
