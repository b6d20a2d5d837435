"""Exponential backoff with full jitter (a fleet reconnecting at once spreads out)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay before retry n: uniform in [0, min(cap, base * 2**n)]."""

    base: float = 0.5
    cap: float = 30.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def ceiling(self) -> float:
        # 2**attempt grows without bound; the exponent stops once the cap is reached.
        return min(self.cap, self.base * 2 ** min(self.attempt, 32))

    def next_delay(self) -> float:
        delay = self.rng.uniform(0.0, self.ceiling())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


def jittered(interval: float, rng: random.Random, spread: float = 0.1) -> float:
    """`interval` ± `spread` of it, so beats of agents started together drift apart."""
    return interval * rng.uniform(1.0 - spread, 1.0 + spread)
