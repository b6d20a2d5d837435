"""Liveness as timers: a heartbeat moves a deadline; only transitions become events.

Pure and synchronous: callers pass the clock in. Timestamps are epoch seconds (floats).

The table is built for a fleet of a million agents on one machine: each agent is a slot (a
small int) in a dict, and its clock lives in flat typed arrays (`array.array`, about 22 bytes
per agent plus the dict entry and the id string) instead of one Python object per agent.
Beats touch single elements (fast scalar access); a sweep looks at all deadlines at once
through zero-copy numpy views. Slots are never freed: an agent that went offline keeps its
last-seen time, which the lists show.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Transition(StrEnum):
    CAME_ONLINE = "came_online"
    WENT_OFFLINE = "went_offline"


@dataclass(frozen=True, slots=True)
class AgentClock:
    """A snapshot of what the engine knows of one agent."""

    last_seen: float
    deadline: float
    online: bool
    offline_after: float


class LivenessTable:
    """Per-agent deadlines in columns; a sweep finds every passed deadline in one pass.

    Each agent has its own `offline_after` (seed 004 modes, seed 002 intervals); a beat that
    names none keeps the agent's current one (the table default for a new agent).

    `not_before` holds off the offline decision of agents not heard since `started_at` until
    the engine has listened for one full interval plus grace: our own outage must not look like
    a fleet outage. An agent that beat since the start is decided at its own deadline: the
    grace protects only agents whose last beat predates it.
    """

    def __init__(
        self, offline_after: float, not_before: float = 0.0, started_at: float = float("inf")
    ) -> None:
        self.offline_after = offline_after
        self.not_before = not_before
        # Beats at or after this moment were heard by this run (inf: none counts as heard).
        self.started_at = started_at
        self.next_deadline = float("inf")
        self.index: dict[str, int] = {}
        self.ids: list[str] = []
        self.last_seen = array("d")
        self.deadline = array("d")
        # float32 holds every interval in use (5 s … 15 min) exactly, at half the size.
        self.interval = array("f")
        self.online = bytearray()
        # Set by every beat, cleared by `take_dirty`: which last-seen times to checkpoint.
        self.dirty = bytearray()
        # What a restart must not miss (a new agent, a changed interval, an online change, a
        # changed token trust): checkpointed every time, while rows that only moved their
        # last-seen time wait for a full pass (rewriting every beating agent's row every few
        # seconds cost about 20 us of CPU a row: half a core at 100,000 agents).
        self.urgent = bytearray()

    def __len__(self) -> int:
        return len(self.ids)

    def slot(self, agent_id: str) -> int | None:
        return self.index.get(agent_id)

    def agent_id(self, slot: int) -> str:
        return self.ids[slot]

    def _add(self, agent_id: str, last_seen: float, deadline: float, interval: float) -> int:
        slot = len(self.ids)
        self.index[agent_id] = slot
        self.ids.append(agent_id)
        self.last_seen.append(last_seen)
        self.deadline.append(deadline)
        self.interval.append(interval)
        self.online.append(0)
        self.dirty.append(1)
        self.urgent.append(1)
        return slot

    def beat(
        self, agent_id: str, now: float, offline_after: float | None = None
    ) -> Transition | None:
        """Record a heartbeat; return CAME_ONLINE when the agent was not online before."""
        slot = self.index.get(agent_id)
        if slot is None:
            interval = self.offline_after if offline_after is None else offline_after
            slot = self._add(agent_id, now, now + interval, interval)
            self.online[slot] = 1
            return Transition.CAME_ONLINE
        return self.beat_slot(slot, now, offline_after)

    def beat_slot(
        self, slot: int, now: float, offline_after: float | None = None
    ) -> Transition | None:
        """`beat` for an agent whose slot the caller already looked up (the hot path)."""
        if offline_after is None:
            offline_after = self.interval[slot]
        elif offline_after != self.interval[slot]:
            self.interval[slot] = offline_after
            self.urgent[slot] = 1
        self.last_seen[slot] = now
        self.deadline[slot] = now + offline_after
        self.dirty[slot] = 1
        if self.online[slot]:
            return None
        self.online[slot] = 1
        self.urgent[slot] = 1
        return Transition.CAME_ONLINE

    def restore(
        self,
        agent_id: str,
        last_seen: float,
        online: bool,
        now: float,
        offline_after: float | None = None,
    ) -> None:
        """Load remembered state after a restart; online agents get a full fresh deadline."""
        slot = self.index.get(agent_id)
        interval = self.offline_after if offline_after is None else offline_after
        deadline = max(last_seen, now) + interval
        if slot is None:
            slot = self._add(agent_id, last_seen, deadline, interval)
            self.dirty[slot] = 0
            self.urgent[slot] = 0
        else:
            self.last_seen[slot] = last_seen
            self.deadline[slot] = deadline
            self.interval[slot] = interval
        self.online[slot] = 1 if online else 0

    def listening_since(self, now: float, grace: float) -> None:
        """Beats reach us from `now` on: every agent gets one full interval plus grace from then.

        Restored deadlines were set before the replica subscribed to beats (restore, stream
        set-up and the registry replay come first, and take seconds on a busy machine); an
        agent that beat on time all along must not be declared offline for our start-up.
        """
        self.not_before = max(self.not_before, now + self.offline_after + grace)
        if not self.ids:
            return
        deadline = np.frombuffer(self.deadline, dtype=np.float64)
        interval = np.frombuffer(self.interval, dtype=np.float32)
        # In float64: epoch seconds in float32 would be off by minutes.
        np.maximum(deadline, interval.astype(np.float64) + (now + grace), out=deadline)
        del deadline, interval

    def sweep(self, now: float) -> list[str]:
        """Agents whose deadline passed; they are marked offline.

        Also sets `next_deadline`: the earliest deadline still ahead (inf when none), so a
        caller can sweep again right when it passes instead of on a coarse period.
        """
        if not self.ids:
            self.next_deadline = float("inf")
            return []
        expired = self._expired(now, protect=now < self.not_before)
        ids = self.ids
        online = self.online
        urgent = self.urgent
        for slot in expired:
            online[slot] = 0
            urgent[slot] = 1
        return [ids[slot] for slot in expired]

    def _expired(self, now: float, protect: bool) -> list[int]:
        # The views borrow the arrays' buffers; they are gone when this returns, so later
        # appends can resize the arrays again.
        deadline = np.frombuffer(self.deadline, dtype=np.float64)
        online = np.frombuffer(self.online, dtype=np.bool_)
        watched = np.where(online, deadline, np.inf)
        if protect:
            # Within the start-up grace only agents heard since the start are decided.
            unheard = np.frombuffer(self.last_seen, dtype=np.float64) < self.started_at
            watched[unheard & online] = np.maximum(watched[unheard & online], self.not_before)
        due = watched <= now
        hits: list[int] = np.flatnonzero(due).tolist()
        if hits:
            watched[due] = np.inf
        self.next_deadline = float(watched.min())
        return hits

    def get(self, agent_id: str) -> AgentClock | None:
        slot = self.index.get(agent_id)
        if slot is None:
            return None
        return AgentClock(
            self.last_seen[slot],
            self.deadline[slot],
            bool(self.online[slot]),
            self.interval[slot],
        )

    def take_dirty(self, everything: bool = True) -> list[tuple[str, float, float]]:
        """(agent id, last seen, offline_after) of every agent beaten or marked urgent since
        the previous full call; with `everything` False only of the urgent ones."""
        if not self.ids:
            return []
        dirty = np.frombuffer(self.dirty, dtype=np.uint8)
        urgent = np.frombuffer(self.urgent, dtype=np.uint8)
        if everything:
            slots: list[int] = np.flatnonzero(dirty | urgent).tolist()
            dirty[:] = 0
        else:
            slots = np.flatnonzero(urgent).tolist()
        urgent[:] = 0
        del dirty, urgent
        ids = self.ids
        last_seen = self.last_seen
        interval = self.interval
        return [(ids[slot], last_seen[slot], interval[slot]) for slot in slots]

    def count_online(self) -> int:
        if not self.ids:
            return 0
        return int(np.count_nonzero(np.frombuffer(self.online, dtype=np.uint8)))
