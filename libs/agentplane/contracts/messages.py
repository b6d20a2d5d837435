"""Wire models of agent-to-agent messages (seed 000; the messaging service's subjects)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

# Time-to-live of a message (seconds): default and bounds. An expired message is never listed.
DEFAULT_MESSAGE_TTL_SECONDS = 86_400
MIN_MESSAGE_TTL_SECONDS = 1
MAX_MESSAGE_TTL_SECONDS = 7 * 86_400
# The payload as compact JSON may be at most this many bytes (larger: 413).
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_CHANNEL = 100
MAX_CORRELATION_ID = 200
# Inbox reads: oldest first; default and maximum `limit`.
MESSAGE_PAGE_DEFAULT = 50
MESSAGE_PAGE_MAX = 500
MAX_READ_IDS = 500


class MessageType(StrEnum):
    """Seed 000 message types."""

    REQUEST = "request"
    RESPONSE = "response"
    EVENT = "event"
    BROADCAST = "broadcast"


class MessageFields(BaseModel):
    """What a sender says in a message (send and broadcast alike)."""

    model_config = ConfigDict(frozen=True)

    payload: dict[str, Any]
    channel: str | None = Field(default=None, max_length=MAX_CHANNEL)
    type: MessageType = MessageType.EVENT
    correlation_id: str | None = Field(default=None, max_length=MAX_CORRELATION_ID)
    ttl_seconds: int = Field(
        default=DEFAULT_MESSAGE_TTL_SECONDS,
        ge=MIN_MESSAGE_TTL_SECONDS,
        le=MAX_MESSAGE_TTL_SECONDS,
    )


class SendMessage(BaseModel):
    """One message from an agent to another agent of the same workspace."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    from_agent_id: UUID
    to_agent_id: UUID
    message: MessageFields


class MessageSent(BaseModel):
    """The recorded message (`messageId`, `expiresAt`)."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    expires_at: datetime


class BroadcastMessage(BaseModel):
    """One message to every agent of the workspace except the sender."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    from_agent_id: UUID
    message: MessageFields


class BroadcastSent(BaseModel):
    """A message id per recipient; `recipients` how many agents it reached."""

    model_config = ConfigDict(frozen=True)

    message_ids: list[str]
    recipients: int
    expires_at: datetime


class ListMessages(BaseModel):
    """An agent's inbox, oldest first; expired messages are never listed."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    channel: str | None = Field(default=None, max_length=MAX_CHANNEL)
    unread_only: bool = True
    limit: int = Field(default=MESSAGE_PAGE_DEFAULT, ge=1, le=MESSAGE_PAGE_MAX)
    cursor: str | None = Field(default=None, max_length=200)


class MessageView(BaseModel):
    """A message as its recipient sees it."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    from_agent_id: UUID
    to_agent_id: UUID
    channel: str | None
    type: MessageType
    payload: dict[str, Any]
    correlation_id: str | None
    created_at: datetime
    expires_at: datetime
    read_at: datetime | None = None
    delivered_at: datetime | None = None


class MessagePage(BaseModel):
    """One page of an inbox; `next_cursor` None on the last."""

    model_config = ConfigDict(frozen=True)

    messages: list[MessageView]
    next_cursor: str | None = None


class MarkMessagesRead(BaseModel):
    """Mark the agent's own messages read; other ids change nothing and are not revealed."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    message_ids: list[str] = Field(min_length=1, max_length=MAX_READ_IDS)


class MessagesMarkedRead(BaseModel):
    """How many of the agent's messages are now read (including those read before)."""

    model_config = ConfigDict(frozen=True)

    marked: int
