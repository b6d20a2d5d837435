"""Seed 002 views of orchestrator agents: the record with its status already derived.

Whether an agent is online is the heartbeat service's answer; what its heartbeats reported is
in the record. The registry reads one, asks the other, derives the status
(domain/orchestrator_status.py) and filters a page by it when asked, so callers only show it.
"""

from __future__ import annotations

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import AgentList, AgentRecord, GetAgent, ListAgents
from agentplane.contracts.errors import not_found
from agentplane.contracts.liveness import AgentLiveness, LivenessQuery, LivenessReport
from agentplane.contracts.orchestrator import ORCHESTRATOR_DIALECT
from agentplane.contracts.orchestrator_views import (
    GetOrchestratorAgent,
    ListOrchestratorAgents,
    OrchestratorAgentPage,
    OrchestratorAgentView,
    OrchestratorStatus,
)
from agentplane.contracts.subjects import Heartbeat
from agentplane.registry.agents import Agents
from agentplane.registry.dispatch import Dispatch
from agentplane.registry.domain.orchestrator_status import derived_status

AGENT_NOT_FOUND = "Agent not found"


def view_of(agent: AgentRecord, live: AgentLiveness | None) -> OrchestratorAgentView:
    status = derived_status(live is not None and live.online, agent.attributes)
    return OrchestratorAgentView(
        agent=agent,
        status=OrchestratorStatus(status),
        heard=live is not None,
        last_seen_at=live.last_seen_at if live else None,
    )


async def _liveness(bus: BusClient, agents: list[AgentRecord]) -> LivenessReport:
    if not agents:
        return LivenessReport(agents={})
    query = LivenessQuery(agent_ids=[a.id for a in agents])
    return LivenessReport.model_validate(await bus.request(Heartbeat.LIVENESS_QUERY, query))


class OrchestratorViews:
    """The seed 002 list and get: records with their status derived (async: they ask the bus)."""

    def __init__(self, agents: Agents, dispatch: Dispatch, bus: BusClient) -> None:
        self.agents, self.dispatch, self.bus = agents, dispatch, bus

    async def list(self, q: ListOrchestratorAgents) -> OrchestratorAgentPage:
        listing = ListAgents(
            workspace_id=q.workspace_id,
            after=q.after,
            limit=q.limit,
            dialect=ORCHESTRATOR_DIALECT,
            capability=q.capability,
        )
        page: AgentList = await self.dispatch.query(self.agents.list_agents, listing)
        report = await _liveness(self.bus, page.agents)
        views = [view_of(a, report.agents.get(str(a.id))) for a in page.agents]
        if q.status is not None:
            views = [v for v in views if v.status is q.status]
        return OrchestratorAgentPage(agents=views, next_after=page.next_after)

    async def get(self, q: GetOrchestratorAgent) -> OrchestratorAgentView:
        lookup = GetAgent(workspace_id=q.workspace_id, agent_id=q.agent_id)
        agent: AgentRecord = await self.dispatch.query(self.agents.get_agent, lookup)
        if agent.dialect != ORCHESTRATOR_DIALECT:
            raise not_found(AGENT_NOT_FOUND)
        report = await _liveness(self.bus, [agent])
        return view_of(agent, report.agents.get(str(agent.id)))
