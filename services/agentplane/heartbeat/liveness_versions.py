"""Each agent's Liveness aggregate version, kept in memory by table slot (4 bytes an agent).

Transitions become events without reading the aggregate back (a read per agent made a sweep
of a few hundred offline agents take seconds under load). Slots past the end: version 0.
"""

from __future__ import annotations

from array import array
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from agentplane.eventstore.application import ServiceApplication
from agentplane.heartbeat.domain import Liveness, LivenessTable
from agentplane.heartbeat.transition_events import UNKNOWN_VERSION


class LivenessVersions:
    """The versions of the agents of `table`; the log of `store` answers for unknown ones."""

    def __init__(self, table: LivenessTable, store: ServiceApplication) -> None:
        self.table = table
        self.store = store
        self.by_slot = array("l")

    def of(self, agent_id: str) -> int:
        """The agent's aggregate version: from memory, else from the log (0: no aggregate)."""
        slot = self.table.slot(agent_id)
        if slot is not None and slot < len(self.by_slot):
            version = self.by_slot[slot]
            if version != UNKNOWN_VERSION:
                return version
        elif slot is not None:
            return 0  # tracked since the restore: its first transition is pending now
        try:
            aggregate: Liveness = self.store.repository.get(UUID(agent_id))
        except AggregateNotFoundError:
            return 0
        return int(aggregate.version)

    def set(self, agent_id: str, version: int) -> None:
        slot = self.table.slot(agent_id)
        if slot is not None:
            self.put(slot, version)

    def put(self, slot: int, version: int) -> None:
        versions = self.by_slot
        if slot >= len(versions):
            versions.extend([0] * (slot + 1 - len(versions)))
        versions[slot] = version
