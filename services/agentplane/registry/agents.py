"""Reading the fleet: an agent, a page of agents (filtered by dialect or capability), summaries.

Pages are spliced from the stored JSON documents (they have the record's shape), so a page of
a big fleet is never decoded here.
"""

from __future__ import annotations

from typing import Any

from agentplane.contracts.agents import (
    AgentList,
    AgentRecord,
    GetAgent,
    ListAgents,
    ListAgentSummaries,
)
from agentplane.contracts.commands import AgentDialect, AgentDialectQuery
from agentplane.contracts.errors import not_found
from agentplane.eventstore.paging import Scanned, encoded_page
from agentplane.registry.application import Registry
from agentplane.registry.projections import AGENT, AGENT_SUMMARY


class Agents:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def list_agents(self, query: ListAgents) -> AgentList:
        page = self._agent_list(query)
        agents = [AgentRecord.model_validate(d) for d in page.docs]
        return AgentList(agents=agents, next_after=page.next_after)

    def list_agents_encoded(self, query: ListAgents) -> bytes:
        """`list_agents` as the JSON of its `AgentList`, spliced from the stored documents."""
        page = self._agent_list(query)
        return encoded_page("agents", page.texts, page.next_after)

    def agent_summaries_encoded(self, query: ListAgentSummaries) -> bytes:
        """A page of `AgentSummaryList` JSON, spliced from the stored summaries."""
        page = self.registry.page_agents(
            query.workspace_id, query.after, query.limit, kind=AGENT_SUMMARY
        )
        return encoded_page("agents", page.texts, page.next_after)

    def _agent_list(self, query: ListAgents) -> Scanned:
        page_agents = self.registry.page_agents
        if query.dialect is None and query.capability is None:
            # Deleted agents are not in the workspace's scope: nothing to filter.
            return page_agents(query.workspace_id, query.after, query.limit)

        def keep(doc: dict[str, Any]) -> bool:
            if doc.get("deleted") or (query.dialect and doc.get("dialect") != query.dialect):
                return False
            wanted = query.capability
            return wanted is None or any(c.get("name") == wanted for c in doc["capabilities"])

        return page_agents(query.workspace_id, query.after, query.limit, keep)

    def get_agent(self, query: GetAgent) -> AgentRecord:
        with self.registry.views.read() as tx:
            doc = tx.get(AGENT, str(query.agent_id))
        if doc is None or doc["workspace_id"] != query.workspace_id or doc.get("deleted"):
            raise not_found("Agent not found")
        return AgentRecord.model_validate(doc)

    def dialect_of(self, query: AgentDialectQuery) -> AgentDialect:
        """Which dialect an agent speaks (the agent channel asks before it serves it)."""
        with self.registry.views.read() as tx:
            doc = tx.get(AGENT, str(query.agent_id))
        if doc is None or doc.get("deleted"):
            raise not_found("Agent not found")
        return AgentDialect(
            agent_id=query.agent_id, workspace_id=doc["workspace_id"], dialect=doc["dialect"]
        )
