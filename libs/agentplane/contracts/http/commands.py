"""Seed 000 remote commands and their state (operator endpoints of DESIGN §1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import AliasChoices, Field, model_validator

from agentplane.contracts.channel import CommandAction
from agentplane.contracts.commands import MAX_COMMAND_TTL_SECONDS, CommandStatus
from agentplane.contracts.http.base import CamelModel

__all__ = ["CommandBody", "CommandList", "CommandSent", "CommandState", "CommandStatus"]


class CommandBody(CamelModel):
    """`POST /v1/agents/{id}/command`: an action and its parameters."""

    action: CommandAction
    params: dict[str, Any] = Field(default_factory=dict)
    # How long the command may wait for the agent before it ends as `expired`
    # (default: contracts.commands.DEFAULT_COMMAND_TTL_SECONDS, 3600).
    ttl_seconds: int | None = Field(default=None, ge=1, le=MAX_COMMAND_TTL_SECONDS)


class CommandSent(CamelModel):
    """The command was accepted (queued while the agent is offline)."""

    success: bool
    command_id: str
    message: str
    agent_online: bool


class CommandState(CamelModel):
    """`GET /v1/agents/{id}/commands/{commandId}`: state and, at the end, the result."""

    # The id under the name the document uses for it elsewhere (`commandId`), or plain `id`.
    command_id: str = Field(validation_alias=AliasChoices("commandId", "command_id", "id"))
    agent_id: UUID | None = None
    action: str
    params: dict[str, Any] = Field(default_factory=dict)
    status: CommandStatus | str
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    expires_at: datetime | None = None
    delivered_at: datetime | None = None
    acknowledged_at: datetime | None = None
    finished_at: datetime | None = None


class CommandList(CamelModel):
    """`GET /v1/agents/{id}/commands`, newest first, one page."""

    commands: list[CommandState]
    next_cursor: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: Any) -> Any:
        # A collection may also answer a bare JSON array (as `GET /v1/agents` does).
        return {"commands": value} if isinstance(value, list) else value
