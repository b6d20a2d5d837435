"""The hub messages that carry a command or an agent message over the agent channel, built
straight from the delivery queues' view documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentplane.contracts.channel import CommandBody, HubKind, HubMessage, MessageBody
from agentplane.contracts.messages import MessageView


def hub_message(command: dict[str, Any]) -> HubMessage:
    """The hub message of an open command's view document (see `projections._open`)."""
    body = CommandBody(
        command_id=command["command_id"],
        action=command["action"],
        params=command.get("params") or {},
        expires_at=command["expires_at"],
    )
    return HubMessage(
        id=command["command_id"],
        kind=HubKind.COMMAND,
        sent_at=datetime.now(UTC),
        body=body.model_dump(mode="json"),
    )


def message_hub_message(message: MessageView) -> HubMessage:
    body = MessageBody(
        message_id=message.message_id,
        from_agent_id=message.from_agent_id,
        channel=message.channel,
        type=message.type.value,
        payload=message.payload,
        correlation_id=message.correlation_id,
        created_at=message.created_at,
        expires_at=message.expires_at,
    )
    return HubMessage(
        id=message.message_id,
        kind=HubKind.MESSAGE,
        sent_at=datetime.now(UTC),
        body=body.model_dump(mode="json"),
    )
