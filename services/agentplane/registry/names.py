"""Agent names that are unique per workspace (orchestrator and PAP agents): claimed by an
`AgentName` aggregate saved together with the agent, released when the agent ends."""

from __future__ import annotations

from uuid import UUID

from agentplane.contracts.errors import conflict
from agentplane.registry.application import Registry
from agentplane.registry.domain import Agent
from agentplane.registry.domain.agent_name import AgentName, NameTaken, agent_name_id


def claim_name(
    registry: Registry, workspace_id: str, name: str, agent_id: UUID, taken: str
) -> AgentName:
    """The claim of `name` for `agent_id`, to save with the agent; 409 `taken` when held."""
    claim: AgentName | None = registry.load(agent_name_id(workspace_id, name))
    if claim is None:
        return AgentName.claim(workspace_id, name, agent_id)
    try:
        claim.reclaim(agent_id)
    except NameTaken:
        raise conflict(taken, field="name") from None
    return claim


def released_name_claim(registry: Registry, agent: Agent) -> list[AgentName]:
    """The agent's name claim, released, to save together with the agent that ends.

    Empty when the agent never claimed its name (seed 000 and 003 names are not unique).
    """
    claim: AgentName | None = registry.load(agent_name_id(agent.workspace_id, agent.name or ""))
    if claim is None:
        return []
    claim.release(agent.id)
    return [claim]
