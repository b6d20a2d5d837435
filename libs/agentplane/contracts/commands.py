"""Wire models of remote commands (the messaging service's request/reply subjects)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from agentplane.contracts.channel import CommandAction
from agentplane.contracts.idempotency import MAX_IDEMPOTENCY_KEY
from agentplane.contracts.services import (
    MAX_TARGET_HOST,
    SERVICE_NAME_PATTERN,
    ServiceProtocol,
)

# Expiry of a command that was never delivered and finished (seconds): default and bounds.
DEFAULT_COMMAND_TTL_SECONDS = 3600
MAX_COMMAND_TTL_SECONDS = 7 * 24 * 3600
COMMAND_PAGE_DEFAULT = 50
COMMAND_PAGE_MAX = 500


class CommandStatus(StrEnum):
    """Where a command is: queued → delivered → acknowledged → an end state."""

    QUEUED = "queued"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class SendCommand(BaseModel):
    """Queue a command for an agent of the workspace and try to deliver it at once."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    action: CommandAction
    params: dict[str, Any] = Field(default_factory=dict)
    ttl_seconds: int = Field(default=DEFAULT_COMMAND_TTL_SECONDS, ge=1, le=MAX_COMMAND_TTL_SECONDS)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=MAX_IDEMPOTENCY_KEY)


class ExposeParams(BaseModel):
    """`params` of an `expose` command: the seed 001 register fields (camelCase, as there).

    The hub registers the service in the catalog before the command is queued and adds
    `serviceId` and `tunnelPort` to what the agent receives.
    """

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    name: str = Field(pattern=SERVICE_NAME_PATTERN)
    target_host: str = Field(min_length=1, max_length=MAX_TARGET_HOST)
    target_port: int = Field(ge=1, le=65535)
    protocol: ServiceProtocol = ServiceProtocol.AUTO
    is_public: bool = False


class CommandView(BaseModel):
    """A command as the operator sees it (params only where `with_params`)."""

    model_config = ConfigDict(frozen=True)

    command_id: str
    agent_id: UUID
    workspace_id: str
    action: CommandAction
    params: dict[str, Any] | None = None
    status: str
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    delivered_at: datetime | None = None
    acknowledged_at: datetime | None = None
    finished_at: datetime | None = None


class CommandAccepted(BaseModel):
    """The command was recorded; `agent_online` as the heartbeat service sees the agent."""

    model_config = ConfigDict(frozen=True)

    command: CommandView
    agent_online: bool
    # True when an Idempotency-Key named a command sent before: nothing new was queued.
    replayed: bool = False


class GetCommand(BaseModel):
    """One command of an agent of the workspace; not_found otherwise."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    command_id: str = Field(max_length=100)


class ListCommands(BaseModel):
    """An agent's commands, newest first, one page."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    limit: int = Field(default=COMMAND_PAGE_DEFAULT, ge=1, le=COMMAND_PAGE_MAX)
    cursor: str | None = Field(default=None, max_length=200)


class CommandPage(BaseModel):
    """A page of commands and the cursor of the next one (None at the end)."""

    model_config = ConfigDict(frozen=True)

    commands: list[CommandView]
    next_cursor: str | None = None


class CancelCommand(BaseModel):
    """Cancel a command that has not been delivered yet (conflict otherwise)."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    command_id: str = Field(max_length=100)


class AgentDialectQuery(BaseModel):
    """Which dialect (and workspace) an agent belongs to; not_found for unknown agents."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID


class AgentDialect(BaseModel):
    """An agent's workspace and dialect (services use it; no secrets)."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    workspace_id: str
    dialect: str
