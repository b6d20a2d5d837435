"""Agents the registry confirmed recently, so a burst of messages does not ask it every time.

Only positive answers are kept, for a short while; the registry's `agent.Deleted` /
`agent.Terminated` events (consumed by this service) forget an agent at once. With several
messaging replicas only one receives each event; the others forget within `TTL_SECONDS`.
"""

from __future__ import annotations

import time
from uuid import UUID

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import GetAgent
from agentplane.contracts.subjects import Registry

TTL_SECONDS = 30.0
MAX_ENTRIES = 100_000


class KnownAgents:
    """`confirm` raises the registry's not_found for an unknown or foreign agent."""

    def __init__(self, bus: BusClient) -> None:
        self.bus = bus
        self._until: dict[tuple[str, str], float] = {}

    async def confirm(self, workspace_id: str, agent_id: UUID) -> None:
        key = (workspace_id, str(agent_id))
        if self._until.get(key, 0.0) > time.monotonic():
            return
        await self.bus.request(
            Registry.AGENT_GET, GetAgent(workspace_id=workspace_id, agent_id=agent_id)
        )
        if len(self._until) >= MAX_ENTRIES:
            self._until.clear()
        self._until[key] = time.monotonic() + TTL_SECONDS

    def forget(self, agent_id: str) -> None:
        for key in [k for k in self._until if k[1] == agent_id]:
            del self._until[key]
