"""Seed 000 `GET /v1/agents/online`: the registry keeps the agents the heartbeat service says
are online, so callers only show the page."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from agentplane.contracts.agents import AgentSummary
from agentplane.contracts.liveness import AgentLiveness
from agentplane.contracts.paging import PageQuery


class ListOnlineAgents(PageQuery):
    """A page of the workspace's agents, oldest first, only the online ones kept."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str


class OnlineAgentPage(BaseModel):
    """The online agents of one page of `limit` agents (so it may be short, even empty: only
    `next_after` None ends the list), with their liveness by agent id."""

    model_config = ConfigDict(frozen=True)

    agents: list[AgentSummary]
    liveness: dict[str, AgentLiveness]
    next_after: str | None = None
