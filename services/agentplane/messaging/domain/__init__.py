"""The messaging service's domain: remote commands and messages (pure, no I/O)."""

from agentplane.messaging.domain.command import (
    FINAL,
    Command,
    CommandStatus,
    InvalidTransition,
    acknowledged_event,
    command_uuid,
    idempotent_command_uuid,
    public_command_id,
)
from agentplane.messaging.domain.message import (
    Message,
    MessageGone,
    message_uuid,
    public_message_id,
    sent_event,
)
from agentplane.messaging.domain.public_ids import time_ordered_uuid

__all__ = [
    "FINAL",
    "Command",
    "CommandStatus",
    "InvalidTransition",
    "Message",
    "MessageGone",
    "acknowledged_event",
    "command_uuid",
    "idempotent_command_uuid",
    "message_uuid",
    "public_command_id",
    "public_message_id",
    "sent_event",
    "time_ordered_uuid",
]
