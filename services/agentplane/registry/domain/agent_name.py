"""A workspace's claim on a PAP agent name (seed 004): one live agent per name."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

_NAME_NS = uuid5(NAMESPACE_URL, "agentplane:pap-agent-name")


def agent_name_id(workspace_id: str, name: str) -> UUID:
    """Deterministic id per (workspace, name): two first claims of a name conflict in the store."""
    return uuid5(_NAME_NS, f"{workspace_id}/{name}")


class NameTaken(Exception):
    """A live agent holds the name."""


class AgentName(Aggregate):
    """Who holds a name. Released when its agent terminates, so the name can be used again.

    The claim and the agent are saved together, so of N parallel creates of one name exactly
    one lands; the others conflict on the claim's version (or on its creation).
    """

    TOPIC = "registry.AgentName"

    class Created(Aggregate.Created):
        TOPIC = "agent_name.Claimed"
        workspace_id: str
        name: str
        agent_id: UUID

    class Reclaimed(Aggregate.Event):
        TOPIC = "agent_name.Reclaimed"
        agent_id: UUID

    class Released(Aggregate.Event):
        TOPIC = "agent_name.Released"
        agent_id: UUID

    def __init__(self, workspace_id: str, name: str, agent_id: UUID) -> None:
        self.workspace_id = workspace_id
        self.name = name
        self.holder: UUID | None = agent_id

    @classmethod
    def claim(cls, workspace_id: str, name: str, agent_id: UUID) -> AgentName:
        return cls._create(
            cls.Created,
            id=agent_name_id(workspace_id, name),
            workspace_id=workspace_id,
            name=name,
            agent_id=agent_id,
        )

    def reclaim(self, agent_id: UUID) -> None:
        if self.holder is not None:
            raise NameTaken(self.name)
        self._reclaim(agent_id=agent_id)

    @event(Reclaimed)
    def _reclaim(self, agent_id: UUID) -> None:
        self.holder = agent_id

    def release(self, agent_id: UUID) -> None:
        """Release the name if `agent_id` holds it; another holder keeps it."""
        if self.holder == agent_id:
            self._release(agent_id=agent_id)

    @event(Released)
    def _release(self, agent_id: UUID) -> None:
        self.holder = None
