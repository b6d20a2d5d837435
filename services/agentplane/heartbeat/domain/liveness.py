"""Liveness as timers: a heartbeat moves a deadline; only transitions become events.

Pure and synchronous: callers pass the clock in. Timestamps are epoch seconds (floats) so a
million agents stay cheap to track.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from enum import StrEnum


class Transition(StrEnum):
    CAME_ONLINE = "came_online"
    WENT_OFFLINE = "went_offline"


@dataclass(slots=True)
class AgentClock:
    """What the engine knows of one agent."""

    last_seen: float
    deadline: float
    online: bool


@dataclass
class LivenessTable:
    """Per-agent deadlines with a heap ordered by deadline for cheap sweeps.

    `not_before` holds off every offline decision until the engine has listened for one full
    interval plus grace since it started: our own outage must not look like a fleet outage.
    """

    offline_after: float
    not_before: float = 0.0
    agents: dict[str, AgentClock] = field(default_factory=dict)
    _heap: list[tuple[float, str]] = field(default_factory=list)

    def beat(self, agent_id: str, now: float) -> Transition | None:
        """Record a heartbeat; return CAME_ONLINE when the agent was not online before."""
        deadline = now + self.offline_after
        clock = self.agents.get(agent_id)
        if clock is None:
            self.agents[agent_id] = AgentClock(now, deadline, True)
            heapq.heappush(self._heap, (deadline, agent_id))
            return Transition.CAME_ONLINE
        clock.last_seen = now
        # The heap keeps the old entry; a sweep re-checks the live deadline before acting.
        clock.deadline = deadline
        if clock.online:
            return None
        clock.online = True
        heapq.heappush(self._heap, (deadline, agent_id))
        return Transition.CAME_ONLINE

    def restore(self, agent_id: str, last_seen: float, online: bool, now: float) -> None:
        """Load remembered state after a restart; online agents get a full fresh deadline."""
        deadline = max(last_seen, now) + self.offline_after
        self.agents[agent_id] = AgentClock(last_seen, deadline, online)
        if online:
            heapq.heappush(self._heap, (deadline, agent_id))

    def sweep(self, now: float) -> list[str]:
        """Agents whose deadline passed; they are marked offline."""
        if now < self.not_before:
            return []
        expired: list[str] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, agent_id = heapq.heappop(heap)
            clock = self.agents.get(agent_id)
            if clock is None or not clock.online:
                continue
            if clock.deadline > now:
                heapq.heappush(heap, (clock.deadline, agent_id))
                continue
            clock.online = False
            expired.append(agent_id)
        return expired

    def get(self, agent_id: str) -> AgentClock | None:
        return self.agents.get(agent_id)
