"""Seed 000 agent messaging: send, broadcast, read and mark as read."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from agentplane.contracts.http.base import CamelModel
from agentplane.contracts.messages import (
    MAX_CHANNEL,
    MAX_CORRELATION_ID,
    MAX_MESSAGE_TTL_SECONDS,
    MAX_READ_IDS,
    MIN_MESSAGE_TTL_SECONDS,
    MessageType,
)


class SendMessageBody(CamelModel):
    """`POST /v1/agents/{id}/messages/send`."""

    to_agent_id: UUID
    payload: dict[str, Any]
    channel: str | None = Field(default=None, max_length=MAX_CHANNEL)
    # Default `event`.
    type: MessageType | None = None
    correlation_id: str | None = Field(default=None, max_length=MAX_CORRELATION_ID)
    # Default 86400 (one day).
    ttl_seconds: int | None = Field(
        default=None, ge=MIN_MESSAGE_TTL_SECONDS, le=MAX_MESSAGE_TTL_SECONDS
    )


class BroadcastBody(CamelModel):
    """`POST /v1/agents/{id}/messages/broadcast`: to every agent of the workspace."""

    payload: dict[str, Any]
    channel: str | None = Field(default=None, max_length=MAX_CHANNEL)
    # Default `broadcast`.
    type: MessageType | None = None
    correlation_id: str | None = Field(default=None, max_length=MAX_CORRELATION_ID)
    ttl_seconds: int | None = Field(
        default=None, ge=MIN_MESSAGE_TTL_SECONDS, le=MAX_MESSAGE_TTL_SECONDS
    )


class MarkReadBody(CamelModel):
    """`POST /v1/agents/{id}/messages/read`."""

    message_ids: list[str] = Field(min_length=1, max_length=MAX_READ_IDS)


class MessageSent(CamelModel):
    """A message (or broadcast) accepted for delivery."""

    success: bool
    message_id: str | None = None
    expires_at: datetime | None = None
    # Broadcast: one message per recipient.
    message_ids: list[str] | None = None
    recipients: int | None = None


class AgentMessage(CamelModel):
    """One message of an agent's inbox."""

    id: str
    from_agent: str | None = Field(default=None, alias="from")
    channel: str | None = None
    type: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    correlation_id: str | None = None
    created_at: datetime
    read_at: datetime | None = None


class MessageList(CamelModel):
    """`GET /v1/agents/{id}/messages`."""

    messages: list[AgentMessage]


class MessagesRead(CamelModel):
    """`POST /v1/agents/{id}/messages/read` → how many were marked."""

    success: bool
    marked: int | None = None
