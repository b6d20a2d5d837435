"""Wire models of workspaces and their API keys."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from agentplane.contracts.idempotency import Idempotency


class Tier(StrEnum):
    """Workspace tier; sets the seed 004 rate limits."""

    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class CreateWorkspace(BaseModel):
    """Create a workspace and issue its first API key."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=100)
    tier: Tier = Tier.FREE
    # Set by the gateway from the Idempotency-Key header, never from a body.
    idempotency: SkipJsonSchema[Idempotency | None] = None


class WorkspaceCreated(BaseModel):
    """The new workspace with its API key, shown exactly once."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    workspace_name: str
    tier: Tier
    api_key: str


class AuthenticateWorkspace(BaseModel):
    """Resolve a presented workspace API key."""

    model_config = ConfigDict(frozen=True)

    api_key: str


class WorkspaceIdentity(BaseModel):
    """Who a valid workspace key belongs to."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    workspace_name: str
    tier: Tier
