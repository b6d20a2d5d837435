"""What a replica's intake counted since it started (the counters of `HeartbeatStats`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class BeatCounts:
    accepted: int = 0
    rejected: int = 0  # the registry refused the token (or refused it a moment ago)
    invalid: int = 0  # malformed beats
    unverified: int = 0  # the registry could not say, or no room to wait for it
    forwarded: int = 0  # beats of agents another replica owns
    verifications: int = 0  # questions asked of the registry

    def as_fields(self) -> dict[str, int]:
        return asdict(self)
