"""The messaging service's domain: remote commands and their life (pure, no I/O)."""

from agentplane.messaging.domain.command import (
    FINAL,
    Command,
    CommandStatus,
    InvalidTransition,
    command_uuid,
    idempotent_command_uuid,
    public_command_id,
)

__all__ = [
    "FINAL",
    "Command",
    "CommandStatus",
    "InvalidTransition",
    "command_uuid",
    "idempotent_command_uuid",
    "public_command_id",
]
