"""Wire models of seed 002 agent views: records with the status the registry derives."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.agents import AgentRecord
from agentplane.contracts.paging import PageQuery


class OrchestratorStatus(StrEnum):
    """The seed's `status` of an orchestrator agent."""

    ONLINE = "online"
    OFFLINE = "offline"
    DEGRADED = "degraded"


class ListOrchestratorAgents(PageQuery):
    """A page of a workspace's orchestrator agents, oldest first; `capability` (exact name)
    and `status` filter it (a filtered page may be short: only `next_after` None ends it)."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    capability: str | None = Field(default=None, max_length=100)
    status: OrchestratorStatus | None = None


class GetOrchestratorAgent(BaseModel):
    """One orchestrator agent of a workspace; not_found for other workspaces and dialects."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID


class OrchestratorAgentView(BaseModel):
    """An agent's record, its status and when it last beat (`heard`: ever since tracked)."""

    model_config = ConfigDict(frozen=True)

    agent: AgentRecord
    status: OrchestratorStatus
    heard: bool
    last_seen_at: datetime | None = None


class OrchestratorAgentPage(BaseModel):
    """A page of views, oldest first; `next_after` None on the last."""

    model_config = ConfigDict(frozen=True)

    agents: list[OrchestratorAgentView]
    next_after: str | None = None
