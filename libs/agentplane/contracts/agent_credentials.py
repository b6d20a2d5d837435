"""Wire models of seed 000 token rotation, capabilities and token expiry."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.agents import Capability
from agentplane.contracts.paging import PageQuery

# Seed 000: "agents whose tokens will expire soon" means within the next 24 hours.
EXPIRING_WITHIN_SECONDS = 24 * 3600
MAX_CAPABILITIES = 100


class RotateAgentToken(BaseModel):
    """Replace an agent's token; the caller proves itself with the current one."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    current_token: str = Field(max_length=512)


class AgentTokenRotated(BaseModel):
    """The new token, shown exactly once, and when it expires."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    new_token: str
    expires_at: datetime


class ReplaceCapabilities(BaseModel):
    """Replace the whole capability set of an agent of a workspace."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID
    capabilities: list[Capability] = Field(max_length=MAX_CAPABILITIES)


class CapabilitySet(BaseModel):
    """An agent's capabilities after a change."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    capabilities: list[Capability]


class FindAgentsByCapability(PageQuery):
    """A page of the agents of a workspace that have the named capability (exact name)."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    name: str = Field(min_length=1, max_length=100)


class ListExpiringTokens(PageQuery):
    """A page of the agents of a workspace whose token is still valid but expires within the
    window, soonest first."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    within_seconds: int = Field(default=EXPIRING_WITHIN_SECONDS, ge=1, le=366 * 86400)


class ExpiringToken(BaseModel):
    """One agent whose token expires soon; hours are whole hours, rounded down."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    name: str | None
    token_expires_at: datetime
    hours_until_expiry: int


class ExpiringTokenList(BaseModel):
    """A page of agents with expiring tokens, soonest first; `next_after` None on the last."""

    model_config = ConfigDict(frozen=True)

    agents: list[ExpiringToken]
    next_after: str | None = None
