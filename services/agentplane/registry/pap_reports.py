"""Seed 004 reports (heartbeats, metrics) name their agent: 404 unknown, 409 terminated.

The record of a terminated agent exists (404 would be a lie), and the agent learns from the
409 that it should stop instead of lingering.
"""

from __future__ import annotations

from pydantic import BaseModel

from agentplane.bus.handlers import replying
from agentplane.bus.host import ServiceHost
from agentplane.contracts.errors import conflict
from agentplane.contracts.pap import GetPapAgent, PapAgentDetails
from agentplane.contracts.subjects import Registry as Subjects
from agentplane.registry.dispatch import Dispatch
from agentplane.registry.pap import PapAgents

AGENT_TERMINATED = "Agent is terminated"  # the seed's 409 message


def reporting_agent(pap: PapAgents, query: GetPapAgent) -> PapAgentDetails:
    """The agent a report is for, unless it is terminated."""
    details = pap.get(query)
    if details.agent.terminated_at is not None:
        raise conflict(AGENT_TERMINATED)
    return details


def register_pap_report_handlers(host: ServiceHost, pap: PapAgents, dispatch: Dispatch) -> None:
    @replying(GetPapAgent)
    async def reporting(q: GetPapAgent) -> BaseModel:
        return await dispatch.query(lambda query: reporting_agent(pap, query), q)

    host.handle(Subjects.PAP_AGENT_REPORTING, reporting)
