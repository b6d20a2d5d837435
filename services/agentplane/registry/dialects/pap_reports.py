"""Seed 004 reports (heartbeats, metrics) name their agent: 404 unknown, 409 terminated.

The record of a terminated agent exists (404 would be a lie), and the agent learns from the
409 that it should stop instead of lingering.
"""

from __future__ import annotations

from agentplane.contracts.errors import conflict
from agentplane.contracts.pap import GetPapAgent, PapAgentDetails
from agentplane.registry.dialects.pap import PapAgents

AGENT_TERMINATED = "Agent is terminated"  # the seed's 409 message


class PapReports:
    """Who a seed 004 report is for."""

    def __init__(self, pap: PapAgents) -> None:
        self.pap = pap

    def reporting_agent(self, query: GetPapAgent) -> PapAgentDetails:
        """The agent a report is for, unless it is terminated."""
        details = self.pap.get(query)
        if details.agent.terminated_at is not None:
            raise conflict(AGENT_TERMINATED)
        return details
