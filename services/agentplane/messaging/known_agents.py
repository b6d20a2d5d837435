"""Agents the registry confirmed recently, so a burst of messages does not ask it every time.

Only positive answers are kept, for a short while; the registry's `agent.Deleted` /
`agent.Terminated` events (consumed by this service) forget an agent at once. With several
messaging replicas only one receives each event; the others forget within `TTL_SECONDS`.
"""

from __future__ import annotations

import asyncio
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

    def known(self, workspace_id: str, agent_id: UUID) -> bool:
        return self._until.get((workspace_id, str(agent_id)), 0.0) > time.monotonic()

    async def confirm_all(self, workspace_id: str, *agent_ids: UUID) -> None:
        """Ask the registry about the agents not known yet, all at once (no tasks when every
        one is known: the common case of a burst costs no round trip and no scheduling)."""
        unknown = [a for a in agent_ids if not self.known(workspace_id, a)]
        if len(unknown) == 1:
            await self.confirm(workspace_id, unknown[0])
        elif unknown:
            await asyncio.gather(*(self.confirm(workspace_id, a) for a in unknown))

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
