"""Agents the heartbeat service knows exist, with the deadline their dialect gives them.

A channel beat carries no credential (its subject is the identity), so the service asks the
registry once whether the agent exists and what its dialect is; the answer is remembered
until a registry event of the agent (deletion, termination, …) or the TTL (the safety net).
An unknown agent is remembered briefly too, so a stream of beats for it costs the registry
one question per `UNKNOWN_SECONDS`, not one per beat. Pure: the caller supplies the clock.
"""

from __future__ import annotations

from dataclasses import dataclass

KNOWN_SECONDS = 600.0
UNKNOWN_SECONDS = 2.0
MAX_ENTRIES = 200_000


@dataclass(frozen=True, slots=True)
class Known:
    """What a lookup found: the agent's deadline in seconds, or None when it does not exist."""

    offline_after: float | None
    until: float


class KnownAgents:
    """agent id → its deadline (or its absence) until a time; bounded, cleared when full."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, Known] = {}

    def get(self, agent_id: str, now: float) -> Known | None:
        """The remembered answer for `agent_id`, or None when the registry must be asked."""
        entry = self._entries.get(agent_id)
        if entry is None or entry.until <= now:
            return None
        return entry

    def remember(self, agent_id: str, offline_after: float | None, now: float) -> Known:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        ttl = KNOWN_SECONDS if offline_after is not None else UNKNOWN_SECONDS
        entry = Known(offline_after, now + ttl)
        self._entries[agent_id] = entry
        return entry

    def forget(self, agent_id: str) -> None:
        self._entries.pop(agent_id, None)

    def forget_all(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
