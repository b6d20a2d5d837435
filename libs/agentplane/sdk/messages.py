"""Seed 000 agent messaging (`/v1/agents/{id}/messages…`, workspace key)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentplane.contracts.http.messages import (
    BroadcastBody,
    MarkReadBody,
    MessageList,
    MessageSent,
    MessagesRead,
    MessageType,
    SendMessageBody,
)
from agentplane.sdk.agents import AgentId
from agentplane.sdk.calls import Call, model, path
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced


class AsyncMessages(Resource):
    """Messages between agents: send, broadcast, read, mark as read."""

    async def send(
        self,
        from_agent_id: AgentId,
        to_agent_id: AgentId,
        payload: Mapping[str, Any],
        *,
        channel: str | None = None,
        type: MessageType | str | None = None,
        correlation_id: str | None = None,
        ttl_seconds: int | None = None,
        idempotency_key: str | None = None,
    ) -> MessageSent:
        """Send a message from one agent to another."""
        body = SendMessageBody(
            to_agent_id=to_agent_id,
            payload=dict(payload),
            channel=channel,
            type=MessageType(type) if type is not None else None,
            correlation_id=correlation_id,
            ttl_seconds=ttl_seconds,
        )
        return await self._t.send(
            Call(
                "POST",
                path("/v1/agents/{}/messages/send", from_agent_id),
                model(MessageSent),
                body=body,
                idempotency_key=idempotency_key,
            )
        )

    async def broadcast(
        self,
        from_agent_id: AgentId,
        payload: Mapping[str, Any],
        *,
        channel: str | None = None,
        type: MessageType | str | None = None,
        ttl_seconds: int | None = None,
        idempotency_key: str | None = None,
    ) -> MessageSent:
        """Send a message to every agent of the workspace."""
        body = BroadcastBody(
            payload=dict(payload),
            channel=channel,
            type=MessageType(type) if type is not None else None,
            ttl_seconds=ttl_seconds,
        )
        return await self._t.send(
            Call(
                "POST",
                path("/v1/agents/{}/messages/broadcast", from_agent_id),
                model(MessageSent),
                body=body,
                idempotency_key=idempotency_key,
            )
        )

    async def list(
        self,
        agent_id: AgentId,
        *,
        channel: str | None = None,
        unread_only: bool | None = None,
        limit: int | None = None,
    ) -> MessageList:
        """The agent's messages (the server's default is unread only)."""
        return await self._t.send(
            Call(
                "GET",
                path("/v1/agents/{}/messages", agent_id),
                model(MessageList),
                params={"channel": channel, "unreadOnly": unread_only, "limit": limit},
            )
        )

    async def mark_read(self, agent_id: AgentId, message_ids: Sequence[str]) -> MessagesRead:
        """Mark messages as read (marking twice is marking once)."""
        return await self._t.send(
            Call(
                "POST",
                path("/v1/agents/{}/messages/read", agent_id),
                model(MessagesRead),
                body=MarkReadBody(message_ids=list(message_ids)),
                idempotent=True,
            )
        )


class Messages(Resource):
    """Sync twin of `AsyncMessages`."""

    send = synced(AsyncMessages.send)
    broadcast = synced(AsyncMessages.broadcast)
    list = synced(AsyncMessages.list)
    mark_read = synced(AsyncMessages.mark_read)
