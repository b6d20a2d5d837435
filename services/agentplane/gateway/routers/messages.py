"""Seed 000 agent-to-agent messages: send, broadcast, the inbox, and marking read.

`{agent_id}` is the sending agent for send and broadcast, the recipient for the inbox and read.
The inbox lists messages oldest first, unread only unless `unreadOnly=false`, never expired
ones; `limit` 1 to 500 (default 50), the next page's `cursor` in the `X-Next-Cursor` header.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from agentplane.bus.requests import BusClient
from agentplane.contracts.errors import too_large
from agentplane.contracts.http.messages import BroadcastBody, MarkReadBody, SendMessageBody
from agentplane.contracts.messages import (
    DEFAULT_MESSAGE_TTL_SECONDS,
    MAX_CHANNEL,
    MAX_PAYLOAD_BYTES,
    MESSAGE_PAGE_DEFAULT,
    MESSAGE_PAGE_MAX,
    BroadcastMessage,
    BroadcastSent,
    ListMessages,
    MarkMessagesRead,
    MessageFields,
    MessagePage,
    MessageSent,
    MessagesMarkedRead,
    MessageType,
    MessageView,
    SendMessage,
)
from agentplane.contracts.subjects import Messaging
from agentplane.contracts.workspaces import WorkspaceIdentity
from agentplane.gateway.auth import Workspace, app_bus
from agentplane.gateway.formats import iso_ms
from agentplane.gateway.path_ids import agent_uuid

router = APIRouter(tags=["agent messages (seed 000)"])

NEXT_CURSOR = "X-Next-Cursor"
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request (the field is named)"},
    401: {"description": "Missing or invalid API key"},
    404: {"description": "Agent not found in this workspace"},
    503: {"description": "A service is unavailable; try again"},
}
SEND_ERRORS = {**ERRORS, 413: {"description": f"payload larger than {MAX_PAYLOAD_BYTES} bytes"}}


def _fields(body: SendMessageBody | BroadcastBody, default_type: MessageType) -> MessageFields:
    size = len(json.dumps(body.payload, separators=(",", ":")).encode())
    if size > MAX_PAYLOAD_BYTES:
        raise too_large(f"payload larger than {MAX_PAYLOAD_BYTES} bytes", field="payload")
    return MessageFields(
        payload=body.payload,
        channel=body.channel,
        type=MessageType(body.type.value) if body.type else default_type,
        correlation_id=body.correlation_id,
        ttl_seconds=body.ttl_seconds or DEFAULT_MESSAGE_TTL_SECONDS,
    )


def message_json(view: MessageView) -> dict[str, Any]:
    return {
        "id": view.message_id,
        "from": str(view.from_agent_id),
        "channel": view.channel,
        "type": view.type.value,
        "payload": view.payload,
        "correlationId": view.correlation_id,
        "createdAt": iso_ms(view.created_at),
        "readAt": iso_ms(view.read_at) if view.read_at else None,
        "expiresAt": iso_ms(view.expires_at),
        "deliveredAt": iso_ms(view.delivered_at) if view.delivered_at else None,
    }


async def send_from(
    bus: BusClient, workspace: WorkspaceIdentity, agent_id: str, body: SendMessageBody
) -> dict[str, Any]:
    """The send once its workspace is authenticated and counted: this route's, and the lean
    route's in front of it (gateway/lean_send.py). 404 for a path id that is no agent's, 413 for
    a payload over the bound, then the messaging service's answer."""
    cmd = SendMessage(
        workspace_id=workspace.workspace_id,
        from_agent_id=agent_uuid(agent_id),
        to_agent_id=body.to_agent_id,
        message=_fields(body, MessageType.EVENT),
    )
    sent = MessageSent.model_validate(await bus.request(Messaging.MESSAGE_SEND, cmd))
    return {"success": True, "messageId": sent.message_id, "expiresAt": iso_ms(sent.expires_at)}


# Also served by gateway/lean_send.py, which answers the common case in fewer steps.
SEND_PATH = "/v1/agents/{agent_id}/messages/send"


@router.post(SEND_PATH, responses=SEND_ERRORS)
async def send_message(
    agent_id: str, body: SendMessageBody, ws: Workspace, request: Request
) -> dict[str, Any]:
    """Send a message from agent `{agent_id}` to `toAgentId` (an agent of the same workspace);
    a connected recipient also receives it live over its channel. `ttlSeconds` 1 to 604800,
    default 86400; `type` default `event`."""
    return await send_from(app_bus(request), ws, agent_id, body)


@router.post("/v1/agents/{agent_id}/messages/broadcast", responses=SEND_ERRORS)
async def broadcast_message(
    agent_id: str, body: BroadcastBody, ws: Workspace, request: Request
) -> dict[str, Any]:
    """One message to every agent of the workspace except the sender (one id per recipient);
    `recipients` is how many agents it reached. `type` default `broadcast`."""
    cmd = BroadcastMessage(
        workspace_id=ws.workspace_id,
        from_agent_id=agent_uuid(agent_id),
        message=_fields(body, MessageType.BROADCAST),
    )
    bus = app_bus(request)
    sent = BroadcastSent.model_validate(await bus.request(Messaging.MESSAGE_BROADCAST, cmd))
    return {
        "success": True,
        "messageIds": sent.message_ids,
        "recipients": sent.recipients,
        "expiresAt": iso_ms(sent.expires_at),
    }


@router.get("/v1/agents/{agent_id}/messages", responses=ERRORS)
async def list_messages(
    agent_id: str,
    ws: Workspace,
    request: Request,
    response: Response,
    channel: Annotated[str | None, Query(max_length=MAX_CHANNEL)] = None,
    unread_only: Annotated[bool, Query(alias="unreadOnly")] = True,
    limit: Annotated[int, Query(ge=1, le=MESSAGE_PAGE_MAX)] = MESSAGE_PAGE_DEFAULT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The agent's inbox, oldest first; only unread messages unless `unreadOnly=false`; never
    expired ones. The next page's cursor is in `X-Next-Cursor`."""
    query = ListMessages(
        workspace_id=ws.workspace_id,
        agent_id=agent_uuid(agent_id),
        channel=channel,
        unread_only=unread_only,
        limit=limit,
        cursor=cursor,
    )
    page = MessagePage.model_validate(await app_bus(request).request(Messaging.MESSAGE_LIST, query))
    if page.next_cursor:
        response.headers[NEXT_CURSOR] = page.next_cursor
    return {"messages": [message_json(m) for m in page.messages]}


@router.post("/v1/agents/{agent_id}/messages/read", responses=ERRORS)
async def mark_read(
    agent_id: str, body: MarkReadBody, ws: Workspace, request: Request
) -> dict[str, Any]:
    """Mark the agent's messages read (`readAt` is set once; repeating is harmless); ids of
    other agents' messages change nothing. `marked` counts the agent's own ids."""
    cmd = MarkMessagesRead(
        workspace_id=ws.workspace_id,
        agent_id=agent_uuid(agent_id),
        message_ids=[m[:100] for m in body.message_ids],
    )
    bus = app_bus(request)
    marked = MessagesMarkedRead.model_validate(await bus.request(Messaging.MESSAGE_READ, cmd))
    return {"success": True, "marked": marked.marked}
