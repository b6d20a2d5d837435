"""How long an agent may stay silent before it is offline: the heartbeat service's policy.

Callers (the gateway's dialects, the channel) say what an agent beats as; only this module
turns that into a deadline, so a dialect cannot drift from the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Seed 004 "Heartbeat Intervals": how often an agent in each mode beats, in seconds.
PAP_MODE_INTERVALS: Mapping[str, float] = {"EMERGENCY": 5.0, "IDLE": 30.0, "SLEEP": 900.0}
# A beat may arrive this much after its interval without the agent counting as unhealthy:
# network and scheduling jitter must not flap an agent that beats exactly on time, while a
# missed beat (the next one a whole interval later) is still caught.
PAP_TOLERANCE_SECONDS = 1.0


@dataclass(frozen=True)
class Deadlines:
    """Deadlines by dialect (its interval times `missed_beats`) and by seed 004 mode."""

    intervals: Mapping[str, float]
    default_interval: float
    missed_beats: int

    def of_dialect(self, dialect: str) -> float:
        return self.intervals.get(dialect, self.default_interval) * self.missed_beats

    def of_mode(self, mode: str) -> float:
        return PAP_MODE_INTERVALS[mode] + PAP_TOLERANCE_SECONDS

    def of_beat(
        self, offline_after: float | None, dialect: str | None, mode: str | None
    ) -> float | None:
        """The deadline a recorded beat sets; None keeps the agent's current one."""
        if offline_after is not None:
            return offline_after
        if mode is not None:
            return self.of_mode(mode)
        if dialect is not None:
            return self.of_dialect(dialect)
        return None
