"""Where an agent's capability set changes, and how agents are found by capability.

Seed 000 replaces the set as a whole (`replace_capabilities`); seed 002 sets it at
registration, on update and from what heartbeats report (`dialects/orchestrator`, through
`kept_metadata` and `reported_change` here). A capability set through seed 000 keeps its
metadata as long as it stays in the set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agentplane.contracts.agent_credentials import (
    CapabilitySet,
    FindAgentsByCapability,
    ReplaceCapabilities,
)
from agentplane.contracts.agents import AgentList, ListAgents
from agentplane.contracts.errors import conflict, invalid, not_found
from agentplane.registry.agents import Agents
from agentplane.registry.application import Registry
from agentplane.registry.domain import Agent


def unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def kept_metadata(agent: Agent, names: Iterable[str]) -> list[dict[str, Any]]:
    """The set of `names` (in order, once each), keeping the metadata of those that stay."""
    metadata = {c["name"]: c.get("metadata", {}) for c in agent.capabilities}
    return [{"name": name, "metadata": metadata.get(name, {})} for name in unique(names)]


def reported_change(agent: Agent, reported: list[str] | None) -> list[dict[str, Any]] | None:
    """The new capability set when the reported one differs (as a set: an agent that lists
    them in another order changes nothing); None when nothing is to change."""
    if reported is None or set(reported) == {c["name"] for c in agent.capabilities}:
        return None
    return kept_metadata(agent, reported)


class Capabilities:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def replace_capabilities(self, cmd: ReplaceCapabilities) -> tuple[CapabilitySet, int]:
        """Replace the capability set as a whole; an unchanged set records nothing."""
        names = [c.name for c in cmd.capabilities]
        wanted = [c.model_dump(mode="json") for c in cmd.capabilities]

        def attempt() -> tuple[CapabilitySet, list[Agent]]:
            agent: Agent | None = self.registry.load(cmd.agent_id)
            if agent is None or agent.workspace_id != cmd.workspace_id or agent.deleted:
                raise not_found("Agent not found")
            if agent.terminated_at is not None:
                raise conflict("Agent is terminated")
            if len(set(names)) != len(names):
                # The gateway rejects this first; the check keeps the set a set for every caller.
                raise invalid("Capability names must be unique", field="capabilities")
            if wanted != agent.capabilities:
                agent.replace_capabilities(wanted)
            return CapabilitySet(agent_id=agent.id, capabilities=cmd.capabilities), [agent]

        return self.registry.update(
            attempt, lambda: conflict("Agent changed concurrently, try again")
        )

    def find_by_capability(self, query: FindAgentsByCapability) -> AgentList:
        """A page of the agents with a capability of exactly that name, oldest first."""
        return Agents(self.registry).list_agents(_listing(query))

    def find_by_capability_encoded(self, query: FindAgentsByCapability) -> bytes:
        return Agents(self.registry).list_agents_encoded(_listing(query))


def _listing(query: FindAgentsByCapability) -> ListAgents:
    return ListAgents(
        workspace_id=query.workspace_id,
        after=query.after,
        limit=query.limit,
        capability=query.name,
    )
